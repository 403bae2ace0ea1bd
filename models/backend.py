"""The interface every generation backend implements: ``Backend``, ``SamplingSettings``, ``GenerationResult``.

It lives apart from the backends so that each one imports only the interface: ``models.heuristics``
(rules, no model) needs no torch, transformers or vLLM code, and ``models.generation`` (the model
backends and ``load_backend``, which picks one) can import the heuristics without an import cycle.
Import these names from here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Iterator, Sequence

from models.specs import ModelSpec
from scheduler.errors import SchedulerError

Messages = list[dict]


@dataclass(frozen=True)
class SamplingSettings:
    """How to decode; recorded with every run. ``temperature`` 0 means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 1024
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.temperature >= 0:
            raise SchedulerError(f"The temperature must be 0 (greedy) or positive, not {self.temperature}.")
        if not 0 < self.top_p <= 1:
            raise SchedulerError(f"top_p must be in (0, 1], not {self.top_p}.")
        if not self.max_new_tokens >= 1:
            raise SchedulerError(f"max_new_tokens must be at least 1, not {self.max_new_tokens}.")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GenerationResult:
    text: str
    n_new_tokens: int


class Backend(ABC):
    """Generates assistant replies for chat conversations (lists of {"role", "content"} messages)."""

    name: str = "backend"
    default_batch_size: int = 8

    def __init__(self, spec: ModelSpec):
        self.spec = spec

    @abstractmethod
    def generate(
        self, conversations: Sequence[Messages], settings: SamplingSettings, batch_size: int | None = None
    ) -> list[GenerationResult]:
        """One reply per conversation, in order."""

    def answer(self, messages: Messages, settings: SamplingSettings, hint: str | None = None) -> GenerationResult:
        """One reply, whole; ``hint`` as in ``stream`` (a backend may draft from it, the reply is the same)."""
        return self.generate([messages], settings)[0]

    def stream(self, messages: Messages, settings: SamplingSettings, hint: str | None = None) -> Iterator[str]:
        """The reply as it grows (each item is the whole text so far); here, all at once.

        ``hint``: a text the reply is likely to resemble (the app passes the solver's reference answer).
        A backend may use it to draft tokens faster; it never changes what the model answers.
        """
        yield self.generate([messages], settings)[0].text

    def info(self) -> dict:
        """What a run records about the model: backend, paths, device, dtype, chat-template hash."""
        return {"backend": self.name, "model": self.spec.model, "adapter": self.spec.adapter}
