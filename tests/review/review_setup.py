"""Set-up for the review tests: a project with flagged items of every kind, a lead and annotators.

Users are inserted directly (no argon2 hashing): these tests never sign in.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.store import projects
from workbench.store.engine import Database
from workbench.store.schema import Annotation, Item, NoiseFlag, User
from workbench.text import content_hash, normalize_text

LABELS = ("billing", "bug", "other")
#: name -> (instruction, output, imported label)
SAMPLES = {
    "mislabeled": ("My card was charged twice", "Refund issued.", "bug"),
    "empty": ("How do I reset my password?", "", "other"),
    "terse": ("What is your refund policy?", "...", "billing"),
    "dup_a": ("Invoice for March is wrong", "We corrected the invoice.", "billing"),
    "dup_b": ("Invoice for March is wrong!", "We fixed the invoice.", "billing"),
    "dup_c": ("The March invoice is wrong", "Corrected the invoice.", "bug"),
    "split": ("App crashes on login", "Update the app.", None),
    "flagged": ("Tell me a joke <script>alert(1)</script>", "No.", "other"),
    "clean": ("Where is my order?", "It ships tomorrow.", "other"),
}


@dataclass
class Setup:
    project_id: int
    lead: int
    other_lead: int
    annotators: dict[str, int]
    items: dict[str, int]
    flags: dict[str, list[int]]  # item name -> its flag ids


def add_user(session, name: str, role: str) -> int:
    user = User(username=name, password_hash="not-a-hash", role=role)
    session.add(user)
    session.flush()
    return user.id


def make_project(db: Database) -> Setup:
    """Project "support" (billing, bug, other) with flags:

    - mislabeled: label_issue 0.9 (bug, suggested billing) and short_output 0.2
    - empty: short_output 0.9; terse: short_output 0.25
    - dup_a, dup_b, dup_c: one near-duplicate group (keyed by dup_a's id), severity 0.3
    - split: disagreement 1.0 (ann1 billing, ann2 bug)
    - flagged: annotator_flag 0.8 by ann1
    - clean: no flag
    """
    with db.write() as session:
        project = projects.create_project(
            session,
            "support",
            labels=projects.make_label_schema(list(LABELS)),
            embedding_model="fake-trigram-32",
        )
        lead = add_user(session, "boss", "lead")
        other_lead = add_user(session, "deputy", "lead")
        annotators = {name: add_user(session, name, "annotator") for name in ("ann1", "ann2")}
        items = {}
        for line, (name, (instruction, output, label)) in enumerate(SAMPLES.items(), start=1):
            text = normalize_text(f"{instruction}\n\n{output}")
            item = Item(
                project_id=project.id,
                shape="alpaca",
                sample={"instruction": instruction, "output": output},
                text=text,
                content_hash=content_hash(text),
                imported_label=label,
                source_file="support.jsonl",
                source_line=line,
            )
            session.add(item)
            session.flush()
            items[name] = item.id
        session.add_all(
            [
                Annotation(
                    project_id=project.id, item_id=items["split"], user_id=annotators["ann1"], label="billing"
                ),
                Annotation(
                    project_id=project.id, item_id=items["split"], user_id=annotators["ann2"], label="bug"
                ),
                Annotation(
                    project_id=project.id, item_id=items["terse"], user_id=annotators["ann2"], label="billing"
                ),
            ]
        )
        group = [items["dup_a"], items["dup_b"], items["dup_c"]]
        specs = [
            (
                "mislabeled",
                "label_issue",
                0.9,
                {
                    "given_label": "bug",
                    "suggested_label": "billing",
                    "label_quality": 0.1,
                    "p_given": 0.05,
                    "p_suggested": 0.9,
                },
            ),
            ("mislabeled", "short_output", 0.2, {"response_chars": 3, "response": "..."}),
            ("empty", "short_output", 0.9, {"response_chars": 0}),
            ("terse", "short_output", 0.25, {"response_chars": 3, "response": "..."}),
            (
                "split",
                "disagreement",
                1.0,
                {
                    "votes": {"billing": 1, "bug": 1},
                    "n_annotators": 2,
                    "majority_label": None,
                    "needs_adjudication": True,
                },
            ),
            (
                "flagged",
                "annotator_flag",
                0.8,
                {"reason": "harmful_response", "comment": "rude <b>answer</b>", "by": "ann1"},
            ),
        ]
        for member in group:
            nearest = group[1] if member == group[0] else group[0]
            evidence = {
                "group": str(group[0]),
                "group_size": 3,
                "members": [str(m) for m in group],
                "nearest": str(nearest),
                "similarity": 0.97,
            }
            name = next(n for n, i in items.items() if i == member)
            specs.append((name, "near_duplicate", 0.3, evidence))
        flags: dict[str, list[int]] = {}
        for name, detector, severity, evidence in specs:
            flag = NoiseFlag(
                project_id=project.id,
                item_id=items[name],
                detector=detector,
                severity=severity,
                evidence=evidence,
                user_id=annotators["ann1"] if detector == "annotator_flag" else None,
            )
            session.add(flag)
            session.flush()
            flags.setdefault(name, []).append(flag.id)
        return Setup(project.id, lead, other_lead, annotators, items, flags)
