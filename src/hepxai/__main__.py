"""``python -m hepxai``: the same as the ``hepxai`` command."""

import sys

from hepxai.cli import main

sys.exit(main())
