"""A small embedded project with three clear topics, for the map, cluster and Data map page tests."""

from __future__ import annotations

from fakes import FakeEmbedder
from workbench.embed import embed_project
from workbench.store import projects
from workbench.store.engine import Database
from workbench.store.schema import Item
from workbench.text import content_hash, normalize_text

TOPICS = {
    "card": "my card payment was declined at the shop number {i}",
    "weather": "what is the weather forecast for tomorrow in town {i}",
    "code": "python function raises a type error on line {i}",
}
MODEL = "fake-trigram-32"
PER_TOPIC = 50


def seed_topic_project(
    db: Database, name: str = "topics", *, embed: bool = True, label_every: int = 0, flip: int = 0
) -> int:
    """Project ``name`` with ``PER_TOPIC`` items per topic (``meta.topic``), embedded by the fake.

    Parameters
    ----------
    label_every : int
        Every ``label_every``-th item of a topic comes with its topic as imported label (0: none).
    flip : int
        The first ``flip`` labeled ``card`` items are imported as ``weather`` instead (label
        errors, marked ``meta.flipped``).

    Returns
    -------
    int
        The project id.
    """
    with db.write() as session:
        project = projects.create_project(
            session, name, labels=projects.make_label_schema(list(TOPICS)), embedding_model=MODEL
        )
        flipped = 0
        for topic, template in TOPICS.items():
            for i in range(PER_TOPIC):
                text = normalize_text(template.format(i=i * 7))
                label = topic if label_every and i % label_every == 0 else None
                wrong = label == "card" and flipped < flip
                flipped += wrong
                session.add(Item(project_id=project.id, shape="text", sample={"text": text}, text=text,
                                 content_hash=content_hash(text), meta={"topic": topic, "flipped": wrong},
                                 imported_label="weather" if wrong else label))
        project_id = project.id
    if embed:
        embed_project(db, project_id, embedder=FakeEmbedder(MODEL))
    return project_id
