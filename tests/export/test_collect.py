"""What gets exported: gold labels with review decisions, edits applied, drops and near-duplicates
out, pseudo-labels when asked (SQLite and PostgreSQL)."""

from __future__ import annotations

from export_fixtures import (
    add_lead,
    add_round,
    alpaca_item,
    decide,
    edit,
    flag_near_duplicates,
    make_project,
    text_item,
    vote,
)

from workbench.export import ExportSettings, plan_export
from workbench.store.engine import Database


def _exported(db: Database, project_id: int, **settings) -> dict[int, tuple[str, str, dict]]:
    with db.read() as session:
        plan = plan_export(session, project_id, ExportSettings(**settings))
    return {item.id: (item.label, item.label_source, item.sample) for item, _ in plan.train + plan.validation}


def test_labels_decisions_edits_and_drops(db: Database) -> None:
    project_id, ids = make_project(
        db,
        [
            text_item("imported only", "math"),
            text_item("annotators agree", "math"),
            text_item("lead relabels", "math"),
            text_item("dropped by the lead", "code"),
            alpaca_item("fix my answer", "wrong", "chat"),
            text_item("no label at all"),
        ],
    )
    lead = add_lead(db)
    vote(db, project_id, ids[1], "code", "ann1")
    vote(db, project_id, ids[1], "code", "ann2")
    vote(db, project_id, ids[2], "code", "ann1")
    decide(db, project_id, ids[2], lead, "relabel", "chat")
    decide(db, project_id, ids[3], lead, "drop")
    edit(db, ids[4], {"instruction": "fix my answer", "input": "", "output": "first fix"}, revision=1)
    edit(db, ids[4], {"instruction": "fix my answer", "input": "", "output": "right"}, revision=2)

    exported = _exported(db, project_id, seed=1)

    assert set(exported) == {ids[0], ids[1], ids[2], ids[4]}
    assert exported[ids[0]][:2] == ("math", "imported")
    assert exported[ids[1]][:2] == ("code", "agreed")
    assert exported[ids[2]][:2] == ("chat", "lead")
    assert exported[ids[4]][2]["output"] == "right"  # the newest edit, not the imported text
    assert set(_exported(db, project_id, seed=1, human_labels_only=True)) == {ids[1], ids[2]}


def test_one_item_per_near_duplicate_group(db: Database) -> None:
    project_id, ids = make_project(db, [text_item(f"how do I sort a list {i}", "code") for i in range(5)])
    flag_near_duplicates(db, project_id, ids[0:3], group=7)
    flag_near_duplicates(db, project_id, ids[3:5], group=8)
    decide(db, project_id, ids[2], add_lead(db), "keep_one")

    exported = _exported(db, project_id, seed=0)

    assert set(exported) == {ids[2], ids[3]}  # the lead's pick in group 7, the first member of group 8


def test_pseudo_labels_above_threshold_only(db: Database) -> None:
    project_id, ids = make_project(db, [text_item("labeled", "math"), text_item("sure"), text_item("unsure")])
    add_round(db, project_id, {ids[1]: [0.05, 0.9, 0.05], ids[2]: [0.4, 0.3, 0.3]})

    assert set(_exported(db, project_id, seed=0)) == {ids[0]}
    pseudo = _exported(db, project_id, seed=0, pseudo_label_threshold=0.8)
    assert set(pseudo) == {ids[0], ids[1]}
    assert pseudo[ids[1]][:2] == ("code", "pseudo")


def test_a_flag_answered_with_keep_leaves_its_item_in(db: Database) -> None:
    project_id, ids = make_project(db, [text_item(f"near copy {i}", "code") for i in range(3)])
    flags = flag_near_duplicates(db, project_id, ids, group=1)
    decide(db, project_id, ids[2], add_lead(db), "keep", flag_id=flags[2])  # "not a duplicate"

    assert set(_exported(db, project_id, seed=0)) == {ids[0], ids[2]}
