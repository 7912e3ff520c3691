"""The whole database schema, designed together so later features only fill it in.

Tables, by the part of the product that writes them:

- set-up and import: ``projects``, ``imports``, ``items``, ``item_revisions``, ``users``
- labeling: ``annotations`` (one per item and user) with ``annotation_revisions`` (full history),
  ``assignments`` (leases of items to annotators)
- embeddings: ``embeddings`` keyed by (model, content hash), shared by all projects
- active learning: ``rounds`` (a retrained scorer), ``predictions`` (per item and round),
  ``candidates`` (the batch a round selected, with the sampler and score that chose each item)
- review: ``noise_flags`` (what a detector or an annotator found), ``decisions`` (what the lead did)
- infrastructure: ``jobs`` (claimed by the worker process), ``audit_log`` (append-only)

The schema is created and upgraded only by the Alembic migrations in ``db/migrations``; a test
checks that the migrations and these classes agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so migrations can refer to constraints on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("annotator", "lead")
ITEM_STATUSES = ("active", "dropped")
JOB_STATUSES = ("queued", "running", "done", "failed")
ROUND_STATUSES = ("done", "failed")
ASSIGNMENT_STATUSES = ("leased", "labeled", "skipped", "expired")
FLAG_STATUSES = ("open", "resolved")
DECISION_ACTIONS = ("keep", "relabel", "drop", "edit", "keep_one", "undo")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Timestamp(TypeDecorator[datetime]):
    """A UTC timestamp that reads back timezone-aware on every dialect.

    SQLite stores no zone and returns naive values; PostgreSQL returns aware ones. Making both
    aware lets code compare timestamps from either without caring which database it runs on.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a UTC-aware one (workbench.store.schema.utcnow)")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


# Integer primary keys are BIGINT on PostgreSQL and the rowid alias on SQLite.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: Timestamp(),
        bytes: LargeBinary,
    }


class Project(Base):
    """A labeling project.

    ``labels`` is the label schema: a list of ``{"name": str, "description": str, "key": str}`` in
    display order. ``settings`` holds per-project knobs (round threshold, sampler budget, overlap).
    """

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[Any]] = mapped_column(default=list)
    embedding_model: Mapped[str] = mapped_column(String(500))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def label_names(self) -> list[str]:
        return [label["name"] for label in self.labels]


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Set for generated one-time passwords: the UI asks for a new one at the first sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class ImportBatch(Base):
    """One run of ``import`` on one file: where the items came from and what happened."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    source_file: Mapped[str] = mapped_column(String(1000))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_format: Mapped[str] = mapped_column(String(16))
    shape: Mapped[str] = mapped_column(String(16))
    field_mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    n_rows: Mapped[int] = mapped_column(default=0)
    n_imported: Mapped[int] = mapped_column(default=0)
    n_duplicates: Mapped[int] = mapped_column(default=0)
    n_rejected: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Item(Base):
    """One SFT sample.

    ``sample`` holds the shape's fields exactly as imported (e.g. ``instruction``/``input``/
    ``output``, or ``conversations``); ``text`` is the normalized text that is embedded and hashed;
    ``meta`` keeps every other field of the source row. ``imported_label`` is a label that came with
    the file (weak or vendor label), kept apart from human annotations.
    """

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "content_hash"),
        # Covering indexes for the per-project counts (label distribution, embedded share).
        Index("ix_items_project_status_label", "project_id", "status", "imported_label"),
        Index("ix_items_project_status_hash", "project_id", "status", "content_hash"),
        CheckConstraint(_in("status", ITEM_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    shape: Mapped[str] = mapped_column(String(16))
    sample: Mapped[dict[str, Any]]
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    source_file: Mapped[str] = mapped_column(String(1000), default="")
    source_line: Mapped[int | None]
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    imported_label: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship()


class ItemRevision(Base):
    """An edit of a sample (an annotator's corrected response, a lead's text fix).

    The original stays in ``items.sample``; the newest revision is the text that gets exported.
    """

    __tablename__ = "item_revisions"
    __table_args__ = (UniqueConstraint("item_id", "revision"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    revision: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sample: Mapped[dict[str, Any]]
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Annotation(Base):
    """A user's current label for an item; a user labels an item at most once.

    A change bumps ``revision`` and appends to ``annotation_revisions``, which holds every version
    (the first included).
    """

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("item_id", "user_id"),
        Index("ix_annotations_project_created", "project_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    seconds_spent: Mapped[float] = mapped_column(default=0.0)
    revision: Mapped[int] = mapped_column(default=1)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnnotationRevision(Base):
    __tablename__ = "annotation_revisions"
    __table_args__ = (UniqueConstraint("annotation_id", "revision"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"))
    revision: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    seconds_spent: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Embedding(Base):
    """A cached embedding: float32 vector bytes for one (model, content hash)."""

    __tablename__ = "embeddings"

    model: Mapped[str] = mapped_column(String(500), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int]
    vector: Mapped[bytes]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """Work for the background worker, claimed atomically; a dead worker's job is retried."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    worker: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    progress: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Round(Base):
    """A retrained scorer and the batch it selected; written in one transaction when complete."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        CheckConstraint(_in("status", ROUND_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="done")
    trigger: Mapped[str] = mapped_column(String(32), default="lead")
    n_labels: Mapped[int] = mapped_column(default=0)
    classes: Mapped[list[Any]] = mapped_column(default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    artefact_path: Mapped[str | None] = mapped_column(String(1000))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Prediction(Base):
    """The scorer's view of one item in one round; ``probabilities`` is float32 bytes in the
    order of ``rounds.classes``."""

    __tablename__ = "predictions"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    predicted_label: Mapped[str] = mapped_column(String(200))
    confidence: Mapped[float]
    probabilities: Mapped[bytes]


class Candidate(Base):
    """An item a round selected for labeling, with the sampler and score that chose it."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("round_id", "item_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    sampler: Mapped[str] = mapped_column(String(50))
    score: Mapped[float]
    rank: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")


class Assignment(Base):
    """A lease of an item to an annotator; nobody is assigned the same item twice."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("item_id", "user_id"),
        Index("ix_assignments_status_expires", "status", "expires_at"),
        CheckConstraint(_in("status", ASSIGNMENT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    status: Mapped[str] = mapped_column(String(16), default="leased")
    leased_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class NoiseFlag(Base):
    """Something that looks wrong with an item: a detector's finding or an annotator's flag.

    ``severity`` is in [0, 1], higher = more urgent; ``evidence`` is what the lead reads.
    """

    __tablename__ = "noise_flags"
    __table_args__ = (
        Index("ix_noise_flags_project_status", "project_id", "status"),
        CheckConstraint(_in("status", FLAG_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    detector: Mapped[str] = mapped_column(String(50))
    severity: Mapped[float] = mapped_column(default=0.0)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class Decision(Base):
    """A lead's cleaning decision on an item, with the state before and after.

    An ``undo`` decision names the decision it reverts in ``undoes_id``.
    """

    __tablename__ = "decisions"
    __table_args__ = (CheckConstraint(_in("action", DECISION_ACTIONS), name="action"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("noise_flags.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only log of who changed what; UPDATE and DELETE are refused by database triggers."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
