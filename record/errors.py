"""The one error type users see: a message that says what was wrong and what to do.

Every package raises a subclass of ``UserError`` for bad input; the CLI prints its message and
exits with status 2, the studio shows it. Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input or an unusable environment, explained in the message."""
