"""``python -m workbench``: one module per command group, each registering on ``app``."""

from workbench.cli import (  # noqa: F401  (importing a module registers its commands)
    agreement_cmd,
    embed_cmd,
    export_cmd,
    import_cmd,
    init_cmd,
    noise_cmd,
    review_cmd,
    rounds_cmd,
    simulate_cmd,
    users_cmd,
)
from workbench.cli.app import app


def main() -> None:
    app()
