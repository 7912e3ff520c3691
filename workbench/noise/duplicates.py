"""Duplicates and contradictions: exact copies, near-duplicates, and the pairs that disagree.

- ``exact_duplicate``: items with the same content hash.
- ``near_duplicate``: items whose embeddings have cosine similarity above the threshold, grouped
  (connected components over the pairs) so that the lead can keep one per group.
- ``label_conflict``: an item whose label differs from that of a (near-)duplicate and is not the
  strict majority among it and its duplicates; in a tie, the one whose label the out-of-fold
  scorer finds less likely (on banking77 with 20% flipped labels, flagging both members of a tie
  cost 0.05 F1 of the label detectors).
- ``conflicting_responses``: SFT samples with the same prompt but different responses.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from workbench.noise.label_issues import labeled_quality
from workbench.noise.neighbors import near_duplicate_pairs
from workbench.noise.registry import Finding, NoiseData, NoiseSettings, register
from workbench.noise.responses import prompt_and_response
from workbench.text import content_hash, normalize_text

#: Group members named in one finding's evidence (groups can be large).
MAX_LISTED = 20
#: Characters of another item's response quoted in evidence.
QUOTE_CHARS = 300


def exact_pairs(hashes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each item with a repeated hash paired with the first item of that hash, shape (p,) each."""
    first_of: dict[str, int] = {}
    firsts, seconds = [], []
    for i, h in enumerate(hashes):
        if h in first_of:
            firsts.append(first_of[h])
            seconds.append(i)
        else:
            first_of[h] = i
    return np.array(firsts, dtype=np.int64), np.array(seconds, dtype=np.int64)


def duplicate_pairs(data: NoiseData, settings: NoiseSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact (similarity 1) and near-duplicate pairs of ``data``, cached for the run.

    Near-duplicates are searched among one item per distinct content hash; the copies of a
    hash then inherit its pairs through the groups.
    """
    if "duplicate_pairs" in data.cache:
        return data.cache["duplicate_pairs"]
    n = len(data.ids)
    hashes = list(data.content_hashes) if data.content_hashes is not None else [str(i) for i in range(n)]
    ex_a, ex_b = exact_pairs(hashes)
    pairs = [(ex_a, ex_b, np.ones(len(ex_a), np.float32))]
    if data.embeddings is not None and len(data.embeddings):
        representative = np.setdiff1d(np.arange(n), ex_b)
        a, b, sim = near_duplicate_pairs(
            data.embeddings[representative], settings.near_duplicate_threshold, seed=settings.seed
        )
        pairs.append((representative[a], representative[b], sim))
    result = tuple(np.concatenate(parts) for parts in zip(*pairs))
    data.cache["duplicate_pairs"] = result
    return result


def groups(n: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Group number per row, shape (n,): connected components of the pair graph."""
    graph = coo_matrix((np.ones(len(first), np.int8), (first, second)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _group_findings(data: NoiseData, detector: str, first, second, sim, severity: float) -> list[Finding]:
    n = len(data.ids)
    group_of = groups(n, first, second)
    sizes = np.bincount(group_of, minlength=n)
    best: dict[int, tuple[float, int]] = {}
    for a, b, s in zip(first.tolist(), second.tolist(), sim.tolist()):
        for me, other in ((a, b), (b, a)):
            if s > best.get(me, (-1.0, -1))[0]:
                best[me] = (s, other)
    members: dict[int, list[int]] = defaultdict(list)
    for i in sorted(best):
        members[int(group_of[i])].append(i)
    findings = []
    for i, (s, other) in sorted(best.items()):
        group = int(group_of[i])
        findings.append(
            Finding(
                i,
                detector,
                severity,
                {
                    "group": str(data.ids[members[group][0]]),
                    "group_size": int(sizes[group]),
                    "members": [str(data.ids[m]) for m in members[group][:MAX_LISTED]],
                    "nearest": str(data.ids[other]),
                    "similarity": round(float(s), 4),
                },
            )
        )
    return findings


@register(
    "exact_duplicate",
    family="duplicates",
    needs=("content_hashes",),
    description="Items with exactly the same normalized text.",
)
def exact_duplicate(data: NoiseData, settings: NoiseSettings) -> list[Finding]:
    first, second = exact_pairs(list(data.content_hashes))
    return _group_findings(data, "exact_duplicate", first, second, np.ones(len(first), np.float32), 0.4)


@register(
    "near_duplicate",
    family="duplicates",
    needs=("embeddings",),
    description="Items whose embeddings are nearly identical (cosine similarity above the threshold).",
)
def near_duplicate(data: NoiseData, settings: NoiseSettings) -> list[Finding]:
    first, second, sim = duplicate_pairs(data, settings)
    near = np.ones(len(sim), bool)
    if data.content_hashes is not None:  # exact copies have their own detector
        hashes = np.asarray(data.content_hashes)
        near = hashes[first] != hashes[second]
    return _group_findings(data, "near_duplicate", first[near], second[near], sim[near], 0.3)


def _row_quality(data: NoiseData, settings: NoiseSettings) -> np.ndarray:
    """Out-of-fold label quality per row (1 where unlabeled), shape (n,); needs two classes."""
    rows, result = labeled_quality(data, settings)
    quality = np.ones(len(data.ids))
    quality[rows] = result.quality
    return quality


@register(
    "label_conflict",
    family="duplicates",
    needs=("labels", "embeddings"),
    description="(Near-)duplicates with different labels; the minority (or doubtful) label is flagged.",
)
def label_conflict(data: NoiseData, settings: NoiseSettings) -> list[Finding]:
    first, second, sim = duplicate_pairs(data, settings)
    labels = data.labels
    quality: np.ndarray | None = None  # computed at the first tie
    neighbours: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for a, b, s in zip(first.tolist(), second.tolist(), sim.tolist()):
        if labels[a] is not None and labels[b] is not None:
            neighbours[a].append((b, s))
            neighbours[b].append((a, s))
    findings = []
    for i, near in sorted(neighbours.items()):
        others = [(j, s) for j, s in near if labels[j] != labels[i]]
        if not others:
            continue
        votes = Counter([labels[i]] + [labels[j] for j, _ in near])
        top = votes.most_common(2)
        if top[0][0] == labels[i] and top[0][1] > top[1][1]:
            continue  # the others are the odd ones out
        if votes[labels[i]] == top[0][1]:
            # A tie: the label the out-of-fold scorer finds less likely is the suspect one.
            quality = _row_quality(data, settings) if quality is None else quality
            if quality[i] > min(quality[j] for j, _ in others):
                continue
        others.sort(key=lambda pair: -pair[1])
        findings.append(
            Finding(
                i,
                "label_conflict",
                round(0.5 + 0.5 * float(others[0][1]) * (1 - votes[labels[i]] / sum(votes.values())), 4),
                {
                    "label": labels[i],
                    "duplicate_labels": dict(votes),
                    "conflicts": [
                        {"id": str(data.ids[j]), "label": labels[j], "similarity": round(float(s), 4)}
                        for j, s in others[:MAX_LISTED]
                    ],
                },
            )
        )
    return findings


@register(
    "conflicting_responses",
    family="duplicates",
    needs=("samples",),
    description="Samples with the same prompt but different responses.",
)
def conflicting_responses(data: NoiseData, settings: NoiseSettings) -> list[Finding]:
    by_prompt: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i, (shape, sample) in enumerate(data.samples):
        parts = prompt_and_response(shape, sample)
        if parts is not None and normalize_text(parts[0]):
            by_prompt[content_hash(normalize_text(parts[0]))].append((i, parts[1]))
    findings = []
    for rows in by_prompt.values():
        distinct = {normalize_text(response) for _, response in rows}
        if len(distinct) < 2:
            continue
        for i, response in rows:
            others = [(j, r) for j, r in rows if normalize_text(r) != normalize_text(response)]
            findings.append(
                Finding(
                    i,
                    "conflicting_responses",
                    0.5,
                    {
                        "n_same_prompt": len(rows),
                        "n_distinct_responses": len(distinct),
                        "others": [
                            {"id": str(data.ids[j]), "response": r[:QUOTE_CHARS]} for j, r in others[:5]
                        ],
                    },
                )
            )
    return findings
