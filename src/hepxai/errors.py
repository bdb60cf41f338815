"""The exception types for bad input and failed output; the CLI prints either as a single line."""


class InputError(ValueError):
    """Bad input from the user: a file, a branch, a setting. The message names the file and the field."""


class OutputError(InputError):
    """An output could not be written (a full disk, a quota, a read-only folder) or is owned by another run.

    A subclass of :class:`InputError`, so every command ends on it with one line and exit code 2; nothing
    partial is left behind.
    """
