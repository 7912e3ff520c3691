"""``random_control``: a small uniformly random slice of every hybrid batch.

Items an active sampler chooses are not a fair sample of the pool: they are the hard, uncertain
ones, so cross-validated figures on them say little about how good the scorer is on the pool, or
what random sampling would have reached with as many labels. A few uniformly random picks per
batch are. ``with_control`` adds such a part to a hybrid budget; the hybrid draws it before the
other parts (so it is uniform over all unlabeled items) and keeps at least one pick in a batch of
``MIN_BATCH_FOR_CONTROL`` or more. ``workbench.insight.learning`` reads the labeled control items.

What the slice costs (``benchmarks/label_efficiency.py --control-shares``; banking77, hybrid,
batch 77, 10 seeds): 5% of each batch raised the labels needed to reach random sampling's final
accuracy from 608 to 637 (+29, +4.7%: about the share itself, and within the seed-to-seed noise),
2.5% to 630; final accuracy was the same (0.892 vs 0.891). With 3 seeds 5% seemed to cost +84,
which was noise.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from workbench.samplers.base import SamplerContext, Selection
from workbench.samplers.random_sampler import uniform_draw
from workbench.samplers.registry import register

CONTROL_SAMPLER = "random_control"
CONTROL_REASON = "random control: measures what random sampling would reach"
#: The share of each hybrid batch a project keeps for the control unless it sets ``control_share``.
DEFAULT_CONTROL_SHARE = 0.05
#: More than this would spend most of the labeling effort on the control.
MAX_CONTROL_SHARE = 0.5
#: A batch this large always keeps at least one control pick (5% of 10 would round to 0 or 1).
MIN_BATCH_FOR_CONTROL = 10


@register(CONTROL_SAMPLER, diverse=True, control=True)
def random_control(
    probas: np.ndarray | None,
    embeddings: np.ndarray,
    labeled_mask: np.ndarray,
    k: int,
    *,
    rng: np.random.Generator,
    context: SamplerContext | None = None,
) -> Selection:
    """Uniformly random unlabeled items kept apart as an unbiased sample (score 0)."""
    return uniform_draw(labeled_mask, k, rng, CONTROL_REASON)


def check_control_share(share: object) -> float:
    """``share`` as a float in [0, ``MAX_CONTROL_SHARE``].

    Raises
    ------
    ValueError
        For anything else (a string, a bool, a negative or too large number), naming the range.
    """
    if isinstance(share, bool) or not isinstance(share, int | float) or not np.isfinite(share):
        raise ValueError(f"control share must be a number from 0 to {MAX_CONTROL_SHARE}, got {share!r}")
    if not 0.0 <= share <= MAX_CONTROL_SHARE:
        raise ValueError(f"control share must be from 0 (off) to {MAX_CONTROL_SHARE}, got {share}")
    return float(share)


def with_control(budget: Mapping[str, float], share: float) -> dict[str, float]:
    """A hybrid budget whose parts keep their proportions in ``1 - share`` of the batch, plus the
    control part with ``share`` (0 returns the budget unchanged).

    Parameters
    ----------
    budget : mapping of str to float
        Sampler name to share (any positive scale; normalized here).
    share : float
        From 0 to ``MAX_CONTROL_SHARE``.

    Raises
    ------
    ValueError
        For a bad share, or a budget that already names the control while ``share`` is set.
    """
    share = check_control_share(share)
    if share == 0:
        return dict(budget)
    if CONTROL_SAMPLER in budget:
        raise ValueError(
            f"the budget already names {CONTROL_SAMPLER!r}; set its share with the control share instead"
        )
    total = float(sum(budget.values()))
    if total <= 0:
        raise ValueError(f"hybrid budget shares must be non-negative with a positive sum, got {dict(budget)}")
    return {CONTROL_SAMPLER: share, **{name: (1.0 - share) * value / total for name, value in budget.items()}}
