"""Gold labels follow the precedence lead > agreed annotators > imported, and skip dropped items."""

from __future__ import annotations

from workbench.store import projects, users
from workbench.store.engine import Database
from workbench.store.gold import GoldLabel, gold_labels
from workbench.store.schema import Annotation, Decision, Item
from workbench.text import content_hash


def _setup(session):
    project = projects.create_project(
        session, "p", labels=projects.make_label_schema(["a", "b", "c"]), embedding_model="m"
    )
    people = [users.add_user(session, f"u{i}", "password-123", "annotator") for i in range(3)]
    lead = users.add_user(session, "boss", "password-123", "lead")
    items = []
    for i, imported in enumerate(["a", None, "c", "c", None, "b"]):
        text = f"sample {i}"
        items.append(Item(project_id=project.id, shape="text", sample={"text": text}, text=text,
                          content_hash=content_hash(text), imported_label=imported))
    session.add_all(items)
    session.flush()
    return project, people, lead, items


def _vote(session, project, item, user, label):
    session.add(Annotation(project_id=project.id, item_id=item.id, user_id=user.id, label=label))


def test_precedence_and_exclusions(db: Database) -> None:
    with db.write() as session:
        project, (u0, u1, u2), lead, items = _setup(session)
        _vote(session, project, items[0], u0, "b")  # human label beats imported "a"
        _vote(session, project, items[1], u0, "a")  # a tie: no agreed label
        _vote(session, project, items[1], u1, "b")
        _vote(session, project, items[2], u0, "a")  # 2 of 3 agree on "b"
        _vote(session, project, items[2], u1, "b")
        _vote(session, project, items[2], u2, "b")
        items[3].status = "dropped"  # dropped: no gold label even though imported
        session.flush()
        first = Decision(project_id=project.id, item_id=items[4].id, user_id=lead.id, action="relabel", label="a")
        session.add(first)
        session.flush()
        session.add(Decision(project_id=project.id, item_id=items[4].id, user_id=lead.id, action="relabel",
                             label="c"))
        undone = Decision(project_id=project.id, item_id=items[5].id, user_id=lead.id, action="relabel", label="a")
        session.add(undone)
        session.flush()
        session.add(Decision(project_id=project.id, item_id=items[5].id, user_id=lead.id, action="undo",
                             undoes_id=undone.id))
        ids = [item.id for item in items]
        project_id = project.id
    with db.read() as session:
        human = gold_labels(session, project_id)
        with_imported = gold_labels(session, project_id, include_imported=True)
    assert human == {
        ids[0]: GoldLabel("b", "agreed"),
        ids[2]: GoldLabel("b", "agreed"),
        ids[4]: GoldLabel("c", "lead"),
    }
    assert with_imported == {**human, ids[5]: GoldLabel("b", "imported")}
