"""What every sampler takes and returns, and the errors they raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class EmptyPoolError(ValueError):
    """No unlabeled item is left to select from."""


class UnknownSamplerError(KeyError):
    """A sampler name that is not registered; the message lists the registered ones."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0])


@dataclass(frozen=True)
class SamplerContext:
    """Optional inputs beyond probabilities and embeddings; every field may be left out.

    Attributes
    ----------
    oof_error : np.ndarray, shape (n_pool,), float32, optional
        For labeled items, how wrong the out-of-fold prediction was (1 = missed the gold label,
        0 = right; see ``error_rate.pool_errors``); NaN for unlabeled items. Used by
        ``error_rate``.
    slices : mapping of str to np.ndarray of shape (n_pool,)
        Metadata per pool item, e.g. ``{"source": ..., "language": ...}``; ``error_rate`` also
        estimates errors per value of each.
    budget : mapping of str to float, optional
        Hybrid budget split, sampler name to share (normalized to sum 1); None = the default.
    """

    oof_error: np.ndarray | None = None
    slices: Mapping[str, np.ndarray] = field(default_factory=dict)
    budget: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Selection:
    """The items a sampler picked, best first.

    Attributes
    ----------
    indices : np.ndarray, shape (k,), int64
        Positions in the pool, unique, all unlabeled.
    scores : np.ndarray, shape (k,), float32
        The picking sampler's score for each item (its meaning is the sampler's: e.g. 1 - margin).
    reasons : tuple of str, length k
        A short human reason per item, e.g. ``"margin 0.03"``.
    samplers : tuple of str, length k
        Name of the sampler that picked each item (a hybrid mixes several).
    """

    indices: np.ndarray
    scores: np.ndarray
    reasons: tuple[str, ...]
    samplers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "indices", np.asarray(self.indices, dtype=np.int64))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=np.float32))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "samplers", tuple(self.samplers))
        sizes = {len(self.indices), len(self.scores), len(self.reasons)}
        if self.samplers:
            sizes.add(len(self.samplers))
        if len(sizes) != 1:
            raise ValueError(
                f"selection parts differ in length: {len(self.indices)} indices, {len(self.scores)} scores, "
                f"{len(self.reasons)} reasons, {len(self.samplers)} sampler names"
            )

    def __len__(self) -> int:
        return len(self.indices)

    def attributed_to(self, name: str) -> Selection:
        """This selection with ``name`` as the sampler of every pick, unless already attributed."""
        if self.samplers:
            return self
        return Selection(self.indices, self.scores, self.reasons, (name,) * len(self.indices))

    @staticmethod
    def concat(parts: Sequence[Selection]) -> Selection:
        """The parts one after the other (they must be attributed and must not overlap)."""
        return Selection(
            np.concatenate([p.indices for p in parts]) if parts else np.empty(0, np.int64),
            np.concatenate([p.scores for p in parts]) if parts else np.empty(0, np.float32),
            tuple(r for p in parts for r in p.reasons),
            tuple(s for p in parts for s in p.samplers),
        )


class Sampler(Protocol):
    """A registered sampler (see ``registry.register`` for the checks wrapped around it)."""

    def __call__(
        self,
        probas: np.ndarray | None,
        embeddings: np.ndarray,
        labeled_mask: np.ndarray,
        k: int,
        *,
        rng: np.random.Generator,
        context: SamplerContext | None = None,
    ) -> Selection: ...
