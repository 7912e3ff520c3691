"""Alembic environment: runs on a connection handed over by workbench.store.migrate, or on
WORKBENCH_DB_URL when Alembic is called by hand."""

from alembic import context

from workbench.config import Settings
from workbench.store.engine import make_engine
from workbench.store.schema import Base

target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(Settings.from_env().db_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
