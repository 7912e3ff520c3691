"""The Annotators dashboard's figures on a small project whose answers are worked out by hand.

Three annotators on project labels a, b, c (now = Wednesday 2026-11-18 12:00 UTC):

    item  ann1  ann2  ann3  lead's standing relabel
    0     a     a     a
    1     a     b     b     (b, but undone)
    2     b     b           b (after an earlier c)
    3     c     a           a
    4     a                 b
    5     b                 b
    6           c
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select
from typer.testing import CliRunner

from workbench.cli.agreement_cmd import NO_OVERLAP  # importing registers the command on the app
from workbench.insight.agreement import NO_VARIATION, TOO_FEW_ITEMS
from workbench.insight.annotators import (
    AnnotatorReport,
    Confusion,
    annotator_report,
    pair_disagreements,
    top_confusions,
)
from workbench.store import labeling, projects
from workbench.store.engine import Database
from workbench.store.schema import Assignment, AuditEntry, Decision, Item, Project, User, utcnow
from workbench.text import content_hash

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
WEDNESDAY = datetime(2026, 11, 18, tzinfo=UTC)
MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
SUNDAY = datetime(2026, 11, 15, tzinfo=UTC)


def at(day: datetime, hour: int, minute: int, second: int = 0) -> datetime:
    return day + timedelta(hours=hour, minutes=minute, seconds=second)


# (user, item, label, saved at, seconds spent)
LABELS = [
    ("ann1", 0, "a", at(WEDNESDAY, 10, 0), 30),
    ("ann1", 1, "b", at(WEDNESDAY, 10, 1), 60),  # changed to "a" below
    ("ann1", 2, "b", at(WEDNESDAY, 10, 2), 0),
    ("ann1", 3, "c", at(WEDNESDAY, 10, 3), 45),
    ("ann1", 4, "a", at(WEDNESDAY, 10, 30), 20),  # 27 min later: a second session
    ("ann1", 5, "b", at(WEDNESDAY, 10, 31), 10),
    ("ann2", 6, "c", at(SUNDAY, 15, 0), 10),  # last week
    ("ann2", 0, "a", at(MONDAY, 9, 0), 10),
    ("ann2", 1, "b", at(MONDAY, 9, 5), 10),
    ("ann2", 2, "b", at(MONDAY, 9, 10), 10),
    ("ann2", 3, "a", at(MONDAY, 9, 40), 10),  # 30 min later: a new session
    ("ann3", 0, "a", at(WEDNESDAY, 11, 0), 0),
    ("ann3", 1, "b", at(WEDNESDAY, 11, 2), 0),
]


def _user(session, name: str, role: str = "annotator") -> int:
    # Not users.add_user: its argon2 hash is slow and these tests are not about passwords.
    user = User(username=name, password_hash="not-a-hash", role=role)
    session.add(user)
    session.flush()
    return user.id


def _item(session, project_id: int, i: int) -> Item:
    text = f"sample {i}"
    item = Item(
        project_id=project_id, shape="text", sample={"text": text}, text=text, content_hash=content_hash(text)
    )
    session.add(item)
    session.flush()
    return item


def _relabel(session, project_id, item_id, lead_id, label) -> Decision:
    decision = Decision(
        project_id=project_id, item_id=item_id, user_id=lead_id, action="relabel", label=label
    )
    session.add(decision)
    session.flush()
    return decision


@pytest.fixture
def worked(db: Database) -> tuple[Database, int]:
    with db.write() as session:
        project = projects.create_project(
            session, "p", labels=projects.make_label_schema(["a", "b", "c"]), embedding_model="m"
        )
        people = {name: _user(session, name) for name in ("ann1", "ann2", "ann3")}
        lead = _user(session, "boss", "lead")
        items = [_item(session, project.id, i).id for i in range(9)]
        for name, item, label, saved, seconds in LABELS:
            labeling.save_label(
                session, project.id, people[name], items[item], label, seconds_spent=seconds, now=saved
            )
        labeling.save_label(session, project.id, people["ann1"], items[1], "a", now=at(WEDNESDAY, 10, 1, 30))

        undone = _relabel(session, project.id, items[1], lead, "b")
        session.add(
            Decision(
                project_id=project.id, item_id=items[1], user_id=lead, action="undo", undoes_id=undone.id
            )
        )
        _relabel(session, project.id, items[2], lead, "c")
        _relabel(session, project.id, items[2], lead, "b")
        _relabel(session, project.id, items[3], lead, "a")
        _relabel(session, project.id, items[4], lead, "b")
        _relabel(session, project.id, items[5], lead, "b")
        session.add(Decision(project_id=project.id, item_id=items[0], user_id=lead, action="keep"))

        # ann2 skips item 7 and flags item 8 (flagging gives the lease back as skipped too).
        for item, when in ((7, at(MONDAY, 9, 20)), (8, at(MONDAY, 9, 21))):
            session.add(
                Assignment(project_id=project.id, item_id=items[item], user_id=people["ann2"],
                           leased_at=when, expires_at=when + timedelta(minutes=10))
            )
        session.flush()
        labeling.skip(session, project.id, people["ann2"], items[7], now=at(MONDAY, 9, 20, 30))
        labeling.flag(session, project.id, people["ann2"], items[8], "unclear", now=at(MONDAY, 9, 21, 30))
        return db, project.id


@pytest.fixture
def report(worked) -> AnnotatorReport:
    db, project_id = worked
    with db.read() as session:
        return annotator_report(session, project_id, now=NOW)


def test_counts_sessions_and_time_per_item(report):
    by_name = {stats.username: stats for stats in report.annotators}
    assert list(by_name) == ["ann1", "ann2", "ann3"]  # the lead labeled nothing

    ann1, ann2, ann3 = by_name["ann1"], by_name["ann2"], by_name["ann3"]
    assert (ann1.labels, ann1.labels_today, ann1.labels_this_week) == (6, 6, 6)
    assert (ann2.labels, ann2.labels_today, ann2.labels_this_week) == (5, 0, 4)
    # ann1: 30 s lead-in + 3 min, then 20 s lead-in + 1 min: 290 s in 2 sessions.
    assert ann1.sessions == 2 and ann1.active_hours * 3600 == pytest.approx(290)
    assert ann1.labels_per_hour == pytest.approx(6 / (290 / 3600))
    # ann2: Sunday alone (10 s), Monday 10 s + 10 min, then 09:40 alone (10 s): 630 s.
    assert ann2.sessions == 3 and ann2.labels_per_hour == pytest.approx(5 / (630 / 3600))
    assert ann3.labels_per_hour == pytest.approx(2 / (120 / 3600))  # no lead-in measured

    # The zero of item 2 is left out: 10, 20, 30, 45, 60 seconds.
    assert ann1.median_seconds == 30 and ann1.p90_seconds == pytest.approx(54)
    assert ann3.median_seconds is None and ann3.p90_seconds is None

    assert (ann2.skips, ann2.flags) == (1, 1)  # the flagged item is not also a skip
    assert (ann1.skips, ann1.flags) == (0, 0)


def test_agreement_with_the_reference_and_the_leads_overturns(report):
    by_name = {stats.username: stats for stats in report.annotators}
    # ann1: item 0 (peers a) yes, 1 (peers b, the relabel was undone) no, 2 (lead b) yes,
    # 3 (lead a) no; items 4 and 5 had nobody else, so the lead's relabels there do not count.
    assert (by_name["ann1"].agreement, by_name["ann1"].agreement_n) == (0.5, 4)
    # ann2: item 1's peers tie (a, b) and item 6 has nobody else: 3 of 3 counted items.
    assert (by_name["ann2"].agreement, by_name["ann2"].agreement_n) == (1.0, 3)
    # ann3's own "b" on item 1 would break the tie; left out, only item 0 counts.
    assert (by_name["ann3"].agreement, by_name["ann3"].agreement_n) == (1.0, 1)

    # The lead overturned ann1 on items 3 and 4 of the 4 relabeled ones (2, 3, 4, 5).
    assert (by_name["ann1"].overturned, by_name["ann1"].decided, by_name["ann1"].overturn_rate) == (2, 4, 0.5)
    assert (by_name["ann2"].overturned, by_name["ann2"].decided) == (0, 2)
    assert by_name["ann3"].decided == 0 and by_name["ann3"].overturn_rate is None

    # ann1 gave "a" where the reference was "b" (item 1) and "c" for "a" (item 3).
    assert top_confusions(report, "ann1") == [Confusion("a", "b", 1), Confusion("c", "a", 1)]
    assert report.confusion["ann1"].trace() == 2 and top_confusions(report, "ann3") == []


def test_pairwise_kappa_project_agreement_and_chart_series(report):
    pairs = {(pair.user_a, pair.user_b): pair.kappa for pair in report.pairs}
    assert pairs[("ann1", "ann2")].n_items == 4
    assert pairs[("ann1", "ann2")].value == pytest.approx(
        cohen_kappa_score(["a", "a", "b", "c"], ["a", "b", "b", "a"])
    )
    assert pairs[("ann1", "ann2")].value == pytest.approx(0.2)
    assert [pair.observed for pair in report.pairs] == [0.5, 0.5, 1.0]
    assert (pairs[("ann1", "ann3")].value, pairs[("ann1", "ann3")].n_items) == (0.0, 2)
    assert (pairs[("ann2", "ann3")].value, pairs[("ann2", "ann3")].n_items) == (1.0, 2)

    # Items 0-3 are overlapped: counts a3 | a1 b2 | b2 | a1 c1.
    assert report.overlapped_items == 4
    assert report.alpha.value == pytest.approx(22 / 58)  # ((10-1)*6 - 32) / (10*9 - 32)
    assert report.fleiss.value == pytest.approx((7 / 12 - 0.42) / 0.58)
    assert report.alpha.low <= report.alpha.value <= report.alpha.high
    assert report.overlap == 1

    hours = {(b.username, b.start): b.labels for b in report.per_hour}
    assert hours[("ann1", at(WEDNESDAY, 10, 0))] == 6
    assert hours[("ann2", at(MONDAY, 9, 0))] == 4
    days = {(b.username, b.start): b.labels for b in report.per_day}
    assert days == {("ann1", WEDNESDAY): 6, ("ann2", SUNDAY): 1, ("ann2", MONDAY): 4, ("ann3", WEDNESDAY): 2}
    assert sorted(report.seconds_per_item["ann1"].tolist()) == [10, 20, 30, 45, 60]
    # Sunday's item 6 had no reference: no agreement bin that day.
    agreement = {(b.username, b.start): (b.agreed, b.n) for b in report.agreement_per_day}
    assert agreement == {("ann1", WEDNESDAY): (2, 4), ("ann2", MONDAY): (3, 3), ("ann3", WEDNESDAY): (1, 1)}

    figures = json.loads(json.dumps(report.as_dict()))
    assert figures["overlapped_items"] == 4
    assert figures["annotators"][0]["overturn_rate"] == 0.5
    assert {pair["n_items"] for pair in figures["pairs"]} == {4, 2}


def test_the_items_two_annotators_disagree_on_newest_first(worked):
    db, project_id = worked
    with db.read() as session:
        ids = dict(session.execute(select(User.username, User.id)).all())
        items = session.scalars(select(Item.id).where(Item.project_id == project_id).order_by(Item.id)).all()
        total, found = pair_disagreements(session, project_id, ids["ann1"], ids["ann2"])
        _, first = pair_disagreements(session, project_id, ids["ann2"], ids["ann1"], limit=1)
    # Items 1 (a / b) and 3 (c / a); item 3 was saved last (ann1 at 10:03 Wednesday).
    assert total == 2
    assert [(d.item_id, d.label_a, d.label_b, d.lead_label) for d in found] == [
        (items[3], "c", "a", "a"),
        (items[1], "a", "b", None),  # the lead's relabel of item 1 was undone
    ]
    assert found[0].text == "sample 3"
    assert [(d.item_id, d.label_a, d.label_b) for d in first] == [(items[3], "a", "c")]


def test_without_overlap_the_agreement_is_undefined_not_zero(db):
    with db.write() as session:
        project = projects.create_project(
            session, "solo", labels=projects.make_label_schema(["a", "b"]), embedding_model="m"
        )
        ann = _user(session, "solo1")
        for i in range(3):
            labeling.save_label(session, project.id, ann, _item(session, project.id, i).id, "a", now=utcnow())
        project_id = project.id
    with db.read() as session:
        report = annotator_report(session, project_id)
    assert report.overlapped_items == 0 and report.pairs == []
    assert (report.fleiss.value, report.fleiss.undefined) == (None, TOO_FEW_ITEMS)
    assert report.alpha.value is None
    assert report.annotators[0].agreement is None and report.annotators[0].agreement_n == 0


def test_an_empty_project_has_no_rows_and_a_single_label_gives_no_kappa(db):
    with db.write() as session:
        project = projects.create_project(
            session, "empty", labels=projects.make_label_schema(["a", "b"]), embedding_model="m"
        )
        empty_id = project.id
        same = projects.create_project(
            session, "same", labels=projects.make_label_schema(["a", "b"]), embedding_model="m"
        )
        people = [_user(session, f"s{i}") for i in range(2)]
        for i in range(3):
            item = _item(session, same.id, i).id
            for person in people:
                labeling.save_label(session, same.id, person, item, "a", now=utcnow())
        same_id = same.id
    with db.read() as session:
        empty = annotator_report(session, empty_id)
        single = annotator_report(session, same_id)
    assert empty.annotators == [] and empty.overlapped_items == 0 and empty.per_day == []
    assert single.overlapped_items == 3
    assert single.pairs[0].kappa.undefined == NO_VARIATION and single.alpha.undefined == NO_VARIATION
    assert [stats.agreement for stats in single.annotators] == [1.0, 1.0]


@pytest.fixture
def cli(worked, monkeypatch):
    """The ``agreement`` command on the worked project's database."""
    from workbench.cli.app import app, database

    db, _ = worked
    monkeypatch.setenv("WORKBENCH_DB_URL", db.url)
    database.cache_clear()
    yield lambda *args: CliRunner().invoke(app, ["agreement", *args])
    database().dispose()
    database.cache_clear()


def test_the_agreement_command_prints_the_table_pairs_and_project_figures(cli):
    result = cli("--project", "p", "--boot", "200")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "project 'p': overlap 1, 4 overlapped items"
    header = lines[2].split()
    assert header[:2] == ["annotator", "labels"]
    ann1 = next(line.split() for line in lines if line.split()[:1] == ["ann1"])
    assert ann1[:2] == ["ann1", "6"] and ann1[-1] == "50%"  # overturn rate
    assert "  ann1: a for b (1), c for a (1)" in lines
    assert "  ann1 / ann2: 0.200 (slight), same label on 50%, n=4" in lines
    assert "  ann1 / ann3: 0.000 (slight), same label on 50%, n=2" in lines
    assert any(line.startswith("Krippendorff's alpha (nominal) 0.379 [") and "(fair) over 4 items" in line
               for line in lines)
    assert any(line.startswith("Fleiss' kappa 0.282 [") for line in lines)


def test_the_agreement_command_prints_json_and_names_a_missing_project(cli):
    result = cli("--project", "p", "--json", "--boot", "0")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["krippendorff_alpha"]["value"] == pytest.approx(22 / 58)
    assert figures["krippendorff_alpha"]["low"] is None  # --boot 0: no interval
    assert [row["username"] for row in figures["annotators"]] == ["ann1", "ann2", "ann3"]
    assert figures["annotators"][0]["top_confusions"][0] == {"given": "a", "reference": "b", "n": 1}

    missing = cli("--project", "nope")
    assert missing.exit_code == 1 and "no project named 'nope'" in missing.output


def test_the_agreement_command_says_when_there_is_nothing_to_measure(cli, worked):
    db, _ = worked
    with db.write() as session:
        projects.create_project(
            session, "empty", labels=projects.make_label_schema(["a"]), embedding_model="m"
        )
        solo = projects.create_project(
            session, "solo", labels=projects.make_label_schema(["a", "b"]), embedding_model="m"
        )
        ann1 = session.scalar(select(User.id).where(User.username == "ann1"))
        labeling.save_label(session, solo.id, ann1, _item(session, solo.id, 0).id, "a", now=NOW)

    empty = cli("--project", "empty")
    assert empty.exit_code == 0
    assert empty.output.strip() == "project 'empty': nobody has labeled, skipped or flagged an item yet"
    single = cli("--project", "solo")
    assert single.exit_code == 0 and single.output.splitlines()[-1] == NO_OVERLAP
    assert "Fleiss" not in single.output


def test_asking_for_overlap_below_one_is_refused_and_a_repeat_changes_nothing(db):
    with db.write() as session:
        project = projects.create_project(
            session, "o", labels=projects.make_label_schema(["a", "b"]), embedding_model="m"
        )
        with pytest.raises(ValueError, match="at least 1"):
            projects.set_overlap(session, project, 0, actor="boss")
        projects.set_overlap(session, project, 2, actor="boss")
        projects.set_overlap(session, project, 2, actor="boss")
        project_id = project.id
    with db.read() as session:
        assert session.get(Project, project_id).settings == {"overlap": 2}
        audited = select(AuditEntry.after).where(AuditEntry.action == "project.overlap")
        assert session.scalars(audited).all() == [{"overlap": 2}]
