"""``python -m workbench``: one module per command group, each registering on ``app``."""

from workbench.cli import users_cmd  # noqa: F401  (registers commands)
from workbench.cli import embed_cmd  # noqa: F401  (registers commands)
from workbench.cli import import_cmd  # noqa: F401  (registers commands)
from workbench.cli import init_cmd  # noqa: F401  (registers commands)
from workbench.cli import simulate_cmd  # noqa: F401  (registers commands)
from workbench.cli.app import app


def main() -> None:
    app()
