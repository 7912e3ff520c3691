"""A project with real rounds for the Learning page's tests: fake-embedded topics, labeled batches."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from fakes import FakeEmbedder
from workbench import rounds
from workbench.embed import embed_project
from workbench.store import projects, users
from workbench.store.engine import Database
from workbench.store.schema import Annotation, Candidate, Item, Round
from workbench.text import content_hash, normalize_text

TOPICS = {
    "card": "my card payment was declined at the shop number {i}",
    "weather": "what is the weather forecast for tomorrow in town {i}",
    "code": "python function raises a type error on line {i}",
}
MODEL = "fake-trigram-32"
PROJECT = "topics"
LABELER = "seed-annotator"


def add_topics_project(db: Database, *, per_topic: int = 50, settings: dict | None = None) -> int:
    """Project ``topics``: ``per_topic`` items of each topic, embedded with the fake embedder."""
    with db.write() as session:
        project = projects.create_project(
            session, PROJECT, labels=projects.make_label_schema(list(TOPICS)), embedding_model=MODEL,
            settings=settings or {"batch_size": 20, "control_share": 0.5},
        )
        for label, template in TOPICS.items():
            for i in range(per_topic):
                text = normalize_text(template.format(i=i * 7))
                session.add(Item(project_id=project.id, shape="text", sample={"text": text}, text=text,
                                 content_hash=content_hash(text), meta={"topic": label}))
        if users.get_user(session, LABELER) is None:
            users.add_user(session, LABELER, "seed-password-1", "annotator")
        project_id = project.id
    embed_project(db, project_id, embedder=FakeEmbedder(MODEL))
    return project_id


def run_labeled_rounds(db: Database, project_id: int, n_rounds: int, models_dir: Path) -> None:
    """Run ``n_rounds`` rounds, labeling every candidate with its true topic after each but the last."""
    for number in range(1, n_rounds + 1):
        rounds.run_round(db, project_id, models_dir=models_dir, embedder=FakeEmbedder(MODEL))
        if number == n_rounds:
            break
        with db.write() as session:
            labeler = users.get_user(session, LABELER)
            round_id = session.scalar(select(Round.id).where(Round.project_id == project_id, Round.number == number))
            for item_id in session.scalars(select(Candidate.item_id).where(Candidate.round_id == round_id)):
                topic = session.get(Item, item_id).meta["topic"]
                session.add(Annotation(project_id=project_id, item_id=item_id, user_id=labeler.id, label=topic))
