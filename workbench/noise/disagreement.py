"""Annotator disagreement on items that several annotators labeled."""

from __future__ import annotations

from workbench.noise.registry import Finding, NoiseData, NoiseSettings, register
from workbench.store.gold import agreed_label


@register(
    "disagreement",
    family="annotators",
    needs=("votes",),
    description="Annotators of an overlapped item chose different labels.",
)
def disagreement(data: NoiseData, settings: NoiseSettings) -> list[Finding]:
    """One finding per item whose annotators' current labels differ.

    Severity is ``1 - (top votes - runner-up votes) / all votes``: 1 for a tie (the lead must
    adjudicate), lower the clearer the majority.
    """
    findings = []
    for row, votes in sorted(data.votes.items()):
        if len(votes) < 2:
            continue
        ranked = votes.most_common()
        total = sum(votes.values())
        majority = agreed_label(votes)
        findings.append(
            Finding(
                row,
                "disagreement",
                round(1 - (ranked[0][1] - ranked[1][1]) / total, 4),
                {
                    "votes": dict(ranked),
                    "n_annotators": total,
                    "majority_label": majority,
                    "needs_adjudication": majority is None,
                },
            )
        )
    return findings
