"""The one error type the project raises for bad input: a human sentence, never a bare traceback."""


class SchedulerError(ValueError):
    """Input that cannot be a scheduling problem (or a file that cannot be read as one).

    The message is a complete sentence meant to be shown to a user as is.
    """
