"""The error model loading raises: a human sentence, caught wherever a SchedulerError is."""

from scheduler.errors import SchedulerError


class ModelLoadError(SchedulerError):
    """A model, adapter or tokenizer that cannot be loaded; the message says why and what to do.

    A subclass of ``SchedulerError`` so the app and the CLIs show it like any other bad input.
    """
