"""Each detector's evidence as a lead reads it: a title, a few plain-text lines, related items.

One small registered function per detector (``EXPLAINERS``); a detector without one gets its
evidence listed as ``key: value`` lines. Lines are plain text (the page shows them as text, never
as markdown or HTML, since they quote samples). Related items are those the evidence names (the
other members of a duplicate group, the conflicting items): the queue shows them side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.noise import DETECTORS
from workbench.store.labeling import FLAG_REASONS

#: Related items shown per flag (groups can be large; the count is in the lines).
MAX_RELATED = 5


@dataclass(frozen=True)
class Explanation:
    """What one flag says.

    Attributes
    ----------
    title : str
        The detector, in words.
    lines : list of str
        Plain text, one fact a line.
    related : list of int
        Ids of the other items the evidence names, most relevant first.
    suggested_label : str or None
        The label the evidence points to (the scorer's suggestion, the annotators' majority, the
        duplicates' label), offered first when the lead relabels.
    """

    title: str
    lines: list[str]
    related: list[int] = field(default_factory=list)
    suggested_label: str | None = None


@dataclass(frozen=True)
class Votes:
    """The item's annotators and their current labels, ``[(username, label)]`` sorted by name."""

    by_name: list[tuple[str, str]]


Explain = Callable[[dict[str, Any], Votes], Explanation]
EXPLAINERS: dict[str, Explain] = {}


def explains(detector: str) -> Callable[[Explain], Explain]:
    def register(fn: Explain) -> Explain:
        EXPLAINERS[detector] = fn
        return fn

    return register


def _ids(values: Any) -> list[int]:
    """Item ids from evidence (stored as strings); anything that is not one is skipped."""
    ids = []
    for value in values if isinstance(values, list) else [values]:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids


def _pct(value: Any) -> str:
    return f"{float(value):.0%}" if isinstance(value, int | float) else "?"


#: What the flags of sources other than a registered detector mean.
OTHER_SOURCES = {"annotator_flag": "An annotator flagged it on the labeling page (with a reason)."}


def title_of(detector: str) -> str:
    """What the detector looks for (its description), else its name."""
    spec = DETECTORS.get(detector)
    if spec is not None:
        return spec.description
    return OTHER_SOURCES.get(detector, detector.replace("_", " "))


def explain(detector: str, evidence: dict[str, Any], votes: Votes) -> Explanation:
    """The explanation of one flag's evidence."""
    evidence = evidence if isinstance(evidence, dict) else {}
    if detector in EXPLAINERS:
        return EXPLAINERS[detector](evidence, votes)
    return Explanation(title_of(detector), [f"{key}: {value}" for key, value in evidence.items()])


@explains("label_issue")
def _label_issue(evidence: dict[str, Any], votes: Votes) -> Explanation:
    return Explanation(
        "Label issue: the scorer suggests another label",
        [
            f"given label: {evidence.get('given_label')} (probability {_pct(evidence.get('p_given'))})",
            f"suggested label: {evidence.get('suggested_label')} "
            f"(probability {_pct(evidence.get('p_suggested'))})",
            f"label quality: {evidence.get('label_quality')} (0 = surely wrong, 1 = surely right)",
        ],
        suggested_label=evidence.get("suggested_label"),
    )


def _votes_lines(votes: Votes) -> list[str]:
    return [f"{name}: {label}" for name, label in votes.by_name]


@explains("disagreement")
def _disagreement(evidence: dict[str, Any], votes: Votes) -> Explanation:
    majority = evidence.get("majority_label")
    verdict = f"majority: {majority}" if majority else "a tie: the lead decides (relabel)"
    counts = ", ".join(f"{label} {n}" for label, n in (evidence.get("votes") or {}).items())
    return Explanation(
        "Annotators disagree", [f"votes: {counts}", *_votes_lines(votes), verdict], suggested_label=majority
    )


@explains("annotator_flag")
def _annotator_flag(evidence: dict[str, Any], votes: Votes) -> Explanation:
    reason = evidence.get("reason", "")
    lines = [f"flagged by {evidence.get('by', '?')}: {FLAG_REASONS.get(reason, reason)}"]
    if evidence.get("comment"):
        lines.append(f"comment: {evidence['comment']}")
    return Explanation("Flagged by an annotator", lines)


def _group(evidence: dict[str, Any], title: str) -> Explanation:
    nearest = _ids(evidence.get("nearest"))
    members = [m for m in _ids(evidence.get("members")) if m not in nearest]
    return Explanation(
        title,
        [
            f"group of {evidence.get('group_size', '?')} items (group {evidence.get('group')})",
            f"nearest: item {evidence.get('nearest')} (similarity {evidence.get('similarity')})",
        ],
        (nearest + members)[: MAX_RELATED + 1],
    )


@explains("near_duplicate")
def _near_duplicate(evidence: dict[str, Any], votes: Votes) -> Explanation:
    return _group(evidence, "Near-duplicate")


@explains("exact_duplicate")
def _exact_duplicate(evidence: dict[str, Any], votes: Votes) -> Explanation:
    return _group(evidence, "Exact duplicate")


@explains("label_conflict")
def _label_conflict(evidence: dict[str, Any], votes: Votes) -> Explanation:
    conflicts = evidence.get("conflicts") or []
    counts = ", ".join(f"{label} {n}" for label, n in (evidence.get("duplicate_labels") or {}).items())
    lines = [f"this item's label: {evidence.get('label')}", f"labels among its duplicates: {counts}"]
    lines += [
        f"item {c.get('id')}: {c.get('label')} (similarity {c.get('similarity')})"
        for c in conflicts
        if isinstance(c, dict)
    ]
    others = {
        label: n
        for label, n in (evidence.get("duplicate_labels") or {}).items()
        if label != evidence.get("label")
    }
    return Explanation(
        "Label conflict with a duplicate",
        lines,
        _ids([c.get("id") for c in conflicts if isinstance(c, dict)])[:MAX_RELATED],
        suggested_label=max(others, key=others.get) if others else None,
    )


@explains("conflicting_responses")
def _conflicting_responses(evidence: dict[str, Any], votes: Votes) -> Explanation:
    others = [o for o in evidence.get("others") or [] if isinstance(o, dict)]
    return Explanation(
        "Same prompt, different responses",
        [
            f"{evidence.get('n_same_prompt')} items share the prompt, "
            f"with {evidence.get('n_distinct_responses')} different responses"
        ],
        _ids([o.get("id") for o in others])[:MAX_RELATED],
    )


@explains("short_output")
def _short_output(evidence: dict[str, Any], votes: Votes) -> Explanation:
    if not evidence.get("response_chars"):
        return Explanation("Empty response", ["the response is empty"])
    return Explanation(
        "Response without content",
        [f"the response has no letter or digit: {evidence.get('response', '')!r}"],
    )


@explains("repeats_instruction")
def _repeats_instruction(evidence: dict[str, Any], votes: Votes) -> Explanation:
    return Explanation(
        "The response repeats the instruction",
        [
            f"similarity to the instruction: {_pct(evidence.get('similarity_to_instruction'))}",
            f"response: {evidence.get('response', '')}",
        ],
    )


@explains("truncated_output")
def _truncated_output(evidence: dict[str, Any], votes: Votes) -> Explanation:
    return Explanation(
        "Truncated response",
        [f"why: {evidence.get('reason')}", f"it ends: ...{evidence.get('ending', '')}"],
    )


@explains("repetition_loop")
def _repetition_loop(evidence: dict[str, Any], votes: Votes) -> Explanation:
    return Explanation(
        "Repetition loop",
        [
            f"repeated {evidence.get('times')} times: {evidence.get('most_repeated')!r}",
            f"distinct phrases: {_pct(evidence.get('distinct_ngram_share'))}",
        ],
    )


@explains("language_mismatch")
def _language_mismatch(evidence: dict[str, Any], votes: Votes) -> Explanation:
    scripts = {"cjk": "Chinese/Japanese/Korean", "latin": "Latin letters"}
    return Explanation(
        "The response is in another language than the prompt",
        [
            f"prompt: {scripts.get(evidence.get('prompt_script'), evidence.get('prompt_script'))}; "
            f"response: {scripts.get(evidence.get('response_script'), evidence.get('response_script'))}",
            f"response: {evidence.get('response', '')}",
        ],
    )


@explains("refusal")
def _refusal(evidence: dict[str, Any], votes: Votes) -> Explanation:
    where = "at the start" if evidence.get("at_start") else "inside the response"
    return Explanation(
        "Refusal or AI boilerplate",
        [f"phrase ({where}): {evidence.get('phrase')!r}", f"response: {evidence.get('response', '')}"],
    )
