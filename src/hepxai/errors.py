"""The one exception type for bad user input; the CLI prints it as a single line."""


class InputError(ValueError):
    """Bad input from the user: a file, a branch, a setting. The message names the file and the field."""
