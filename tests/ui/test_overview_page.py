"""The overview page: empty state, project figures, samples rendered by shape and safely."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ui_helpers import add_item, add_project, texts

from workbench.store import users
from workbench.store.schema import Annotation, Embedding, ImportBatch

XSS_INSTRUCTION = "Summarize <script>alert(1)</script> please"
XSS_OUTPUT = 'Here: <img src=x onerror=alert(1)> and <b>bold</b> [link](http://x)'


def _metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _overview(at):
    """Open the Overview (an annotator's session starts on the Label page)."""
    return at.switch_page("views/overview.py").run()


def test_without_projects_the_overview_tells_how_to_import(signed_in):
    at = _overview(signed_in("ann"))
    assert len(at.info) == 1
    assert "python -m workbench import FILE --project NAME" in at.info[0].value


def test_a_project_without_items_tells_how_to_import(app_db, signed_in):
    with app_db.write() as session:
        add_project(session)
    at = _overview(signed_in("ann"))
    assert "python -m workbench import FILE --project NAME" in at.info[0].value


@pytest.fixture
def demo(app_db):
    """Three active Alpaca items (labels chat, code, none), one dropped, one embedded, one import."""
    with app_db.write() as session:
        project = add_project(session)
        session.add(ImportBatch(
            project_id=project.id, source_file="alpaca_2000.jsonl", file_sha256="0" * 64,
            file_format="jsonl", shape="alpaca", n_rows=5, n_imported=4, n_duplicates=1,
        ))
        first = add_item(session, project, {"instruction": "Say hi", "input": "", "output": "Hi!"},
                         label="chat", meta={"source": "alpaca", "language": "en"})
        second = add_item(session, project, {"instruction": "Write code", "input": "sort a list",
                                             "output": "sorted(xs)"}, label="code")
        add_item(session, project, {"instruction": "Unlabeled one", "input": "", "output": "ok"})
        add_item(session, project, {"instruction": "Gone", "input": "", "output": "x"},
                 status="dropped")
        session.add(Embedding(model="test-model", content_hash=first.content_hash, dim=2,
                              vector=np.zeros(2, dtype=np.float32).tobytes()))
        ann = users.get_user(session, "ann")
        session.add(Annotation(project_id=project.id, item_id=second.id, user_id=ann.id,
                               label="code"))
    return app_db


def test_the_overview_shows_the_project_figures_schema_imports_and_samples(demo, signed_in):
    at = _overview(signed_in("ann"))

    assert not at.exception
    assert [header.value for header in at.header] == ["demo"]
    assert _metrics(at) == {
        "Active items": "3", "Dropped items": "1", "Human annotations": "1", "Embedded": "33%",
    }
    tables = [frame.value for frame in at.dataframe]
    schema = next(table for table in tables if "key" in table.columns)
    assert schema[["key", "label"]].values.tolist() == [["1", "chat"], ["2", "code"]]
    imports = next(table for table in tables if "file" in table.columns)
    assert imports[["file", "imported", "duplicates"]].values.tolist() == [["alpaca_2000.jsonl", 4, 1]]
    assert "2 of 3 active items have a label" in " ".join(caption.value for caption in at.caption)
    shown = texts(at)
    assert {"Say hi", "Hi!", "Write code", "sort a list", "sorted(xs)"} <= set(shown)
    assert "Gone" not in shown  # dropped items are hidden unless asked for
    assert {"source": "alpaca", "language": "en"} in [json.loads(e.value) for e in at.json]


def test_html_and_script_in_a_sample_are_shown_as_literal_text(app_db, signed_in):
    with app_db.write() as session:
        project = add_project(session)
        add_item(session, project, {"instruction": XSS_INSTRUCTION, "input": "",
                                    "output": XSS_OUTPUT})
    at = _overview(signed_in("ann"))

    assert XSS_INSTRUCTION in texts(at)
    assert XSS_OUTPUT in texts(at)
    assert len(at.html) == 0
    for markdown in [*at.markdown, *at.caption, *at.info]:
        assert not markdown.proto.allow_html
        assert "<script>" not in markdown.value and "<img" not in markdown.value
    for expander in at.expander:  # the preview title is markdown: escaped
        assert "<script>" not in expander.label


def test_chats_are_shown_as_turns_with_their_roles(app_db, signed_in):
    with app_db.write() as session:
        project = add_project(session)
        add_item(session, project, {"conversations": [
            {"from": "human", "value": "What is 2+2?"}, {"from": "gpt", "value": "4"},
        ]}, shape="sharegpt")
        add_item(session, project, {"messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi."},
        ]}, shape="messages")
    at = _overview(signed_in("ann"))

    turns = [
        (message.avatar, [caption.value for caption in message.caption],
         [text.value for text in message.text])
        for message in at.chat_message
    ]
    assert turns == [
        ("user", ["human"], ["What is 2+2?"]),
        ("assistant", ["gpt"], ["4"]),
        (":material/settings:", ["system"], ["Be brief."]),
        ("user", ["user"], ["Hello"]),
        ("assistant", ["assistant"], ["Hi."]),
    ]


def test_the_sample_browser_pages_and_filters(app_db, signed_in):
    with app_db.write() as session:
        project = add_project(session)
        for i in range(23):
            add_item(session, project, {"instruction": f"Task number {i}", "input": "",
                                        "output": "done"}, label=("chat", "code")[i % 2])
        add_item(session, project, {"instruction": "An old task", "input": "", "output": "x"},
                 status="dropped")
    at = _overview(signed_in("ann"))
    key = f"_{project.id}"

    def instructions() -> list[str]:
        return [text for text in texts(at) if "task" in text.lower()]

    assert instructions() == [f"Task number {i}" for i in range(10)]
    at.pagination(key="browser_page" + key).set_value(3).run()
    assert instructions() == ["Task number 20", "Task number 21", "Task number 22"]

    at.selectbox(key="browser_label" + key).set_value("code").run()
    assert instructions() == [f"Task number {i}" for i in range(1, 20, 2)]  # back to page 1

    at.text_input(key="browser_search" + key).input("NUMBER 2").run()
    assert instructions() == ["Task number 21"]

    at.text_input(key="browser_search" + key).input("").run()
    at.selectbox(key="browser_label" + key).set_value("(any)").run()
    at.selectbox(key="browser_status" + key).set_value("dropped").run()
    assert instructions() == ["An old task"]


def test_background_jobs_show_their_progress_and_failures(demo, signed_in):
    from workbench.store import jobs
    from workbench.store.projects import get_project
    from workbench.store.schema import Job

    with demo.write() as session:
        project = get_project(session, "demo")
        jobs.enqueue(session, "embed", project_id=project.id)
    at = _overview(signed_in("ann"))
    bars = [element.proto.text for element in at.get("progress")]
    assert bars == ["Embedding the samples: waiting for the worker (`./run.sh worker`)"]

    with demo.write() as session:
        job = session.query(Job).one()
        job.status, job.attempts, job.error = "failed", 3, "Traceback ...\nModelLoadError: no such model"
    at.run()
    assert not at.get("progress")
    assert [error.value for error in at.error] == [
        "Embedding the samples failed after 3 attempts: ModelLoadError: no such model"
    ]
