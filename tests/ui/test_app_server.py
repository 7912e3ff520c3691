"""The real Streamlit server starts on a fresh database and answers its health check."""

from __future__ import annotations

from workbench.ui.server import AppServer, http_get


def test_the_app_server_starts_and_answers_health(tmp_path):
    with AppServer(f"sqlite:///{tmp_path / 'fresh.sqlite'}") as server:
        assert server.running
        assert http_get(f"{server.url}/_stcore/health") == "ok"
        assert "<html" in (http_get(f"{server.url}/") or "").lower()
