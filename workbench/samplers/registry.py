"""The sampler registry: ``@register("name")`` adds a function, ``get_sampler(name)`` finds it.

Every registered sampler is wrapped in the same checks, so each family module handles only the
interesting case:

- inputs: ``embeddings`` (n_pool, d) made float32, ``labeled_mask`` a bool (n_pool,),
  ``probas`` (n_pool, n_classes) float32 or None, ``k`` >= 1;
- an empty pool (no unlabeled item) raises ``EmptyPoolError``;
- ``k`` larger than the number of unlabeled items selects all of them (ranked): at the end of a
  project the last round gets what is left instead of failing;
- outputs: exactly ``min(k, n_unlabeled)`` unique unlabeled items, each attributed to a sampler.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from workbench.samplers.base import EmptyPoolError, Sampler, SamplerContext, Selection, UnknownSamplerError


@dataclass(frozen=True)
class SamplerSpec:
    """A registered sampler.

    Attributes
    ----------
    name : str
    fn : Sampler
        The checked sampler.
    uses_out_of_fold : bool
        Whether it reads ``SamplerContext.oof_error`` (the caller then computes out-of-fold
        probabilities, which costs extra fits).
    diverse : bool
        Whether its picks are already spread over the embedding space; ``hybrid`` spreads the
        picks of the other samplers itself.
    control : bool
        Whether it is a control part of a ``hybrid`` budget: drawn before the other parts (from
        the whole unlabeled pool, so it stays an unbiased sample) and never rounded away to
        zero picks in a batch of ``MIN_BATCH_FOR_CONTROL`` or more.
    summary : str
        First line of the function's docstring.
    """

    name: str
    fn: Sampler
    uses_out_of_fold: bool
    diverse: bool
    control: bool
    summary: str


_REGISTRY: dict[str, SamplerSpec] = {}


def _checked_inputs(
    probas: np.ndarray | None, embeddings: np.ndarray, labeled_mask: np.ndarray, k: int
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    embeddings = np.asarray(embeddings, dtype=np.float32)
    labeled_mask = np.asarray(labeled_mask)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be 2-d (n_pool, d), got shape {embeddings.shape}")
    n_pool = len(embeddings)
    if labeled_mask.dtype != bool or labeled_mask.shape != (n_pool,):
        raise ValueError(
            f"labeled_mask must be a bool array of shape ({n_pool},), got {labeled_mask.dtype} {labeled_mask.shape}"
        )
    if probas is not None:
        probas = np.asarray(probas, dtype=np.float32)
        if probas.ndim != 2 or len(probas) != n_pool:
            raise ValueError(f"probas must have shape ({n_pool}, n_classes), got {probas.shape}")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return probas, embeddings, labeled_mask


def _check_output(name: str, selection: Selection, labeled_mask: np.ndarray, k: int) -> None:
    """Guard the contract at run time: a broken sampler must not put bad candidates in a queue."""
    picked = selection.indices
    if (
        len(picked) != k
        or len(np.unique(picked)) != k
        or picked.min() < 0
        or picked.max() >= len(labeled_mask)
        or labeled_mask[picked].any()
    ):
        raise RuntimeError(f"sampler {name!r} broke its contract: expected {k} unique unlabeled items")


def register(name: str, *, uses_out_of_fold: bool = False, diverse: bool = False, control: bool = False):
    """Decorator: register a sampler function under ``name`` (wrapped in the checks above).

    ``uses_out_of_fold``, ``diverse`` and ``control`` are recorded in its ``SamplerSpec``.
    """

    def decorator(fn: Sampler) -> Sampler:
        if name in _REGISTRY:
            raise ValueError(f"a sampler named {name!r} is already registered")

        @functools.wraps(fn)
        def checked(
            probas: np.ndarray | None,
            embeddings: np.ndarray,
            labeled_mask: np.ndarray,
            k: int,
            *,
            rng: np.random.Generator,
            context: SamplerContext | None = None,
        ) -> Selection:
            probas, embeddings, labeled_mask = _checked_inputs(probas, embeddings, labeled_mask, k)
            n_unlabeled = int(len(labeled_mask) - labeled_mask.sum())
            if n_unlabeled == 0:
                raise EmptyPoolError(
                    f"sampler {name!r}: no unlabeled item left in the pool of {len(labeled_mask)} items"
                )
            k = min(int(k), n_unlabeled)
            selection = fn(probas, embeddings, labeled_mask, k, rng=rng, context=context).attributed_to(name)
            _check_output(name, selection, labeled_mask, k)
            return selection

        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        _REGISTRY[name] = SamplerSpec(name, checked, uses_out_of_fold, diverse, control, summary)
        return checked

    return decorator


def sampler_spec(name: str) -> SamplerSpec:
    """The registered sampler ``name``.

    Raises
    ------
    UnknownSamplerError
        Naming the registered samplers.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownSamplerError(
            f"no sampler named {name!r}; choose one of: {', '.join(sampler_names())}"
        ) from None


def get_sampler(name: str) -> Sampler:
    """The checked sampler function registered as ``name`` (see ``sampler_spec``)."""
    return sampler_spec(name).fn


def sampler_names() -> list[str]:
    """Names of all registered samplers, sorted."""
    return sorted(_REGISTRY)
