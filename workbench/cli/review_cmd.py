"""``review list|decide|bulk|undo|history|scan``: the Review page for leads who script.

Every decision is taken as a lead: ``--as NAME`` (or ``WORKBENCH_USER``), else the only active
lead. Filters are those of the queue (``--detector`` repeatable, ``--label``, ``--annotator``,
``--search``, ``--min-severity``, ``--max-severity``)::

    python -m workbench review list --project support --detector label_issue --limit 20
    python -m workbench review decide --project support --item 42 --action relabel --label billing
    python -m workbench review bulk --project support --detector short_output --max-severity 0.3 --action keep
    python -m workbench review undo --project support
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from sqlalchemy import select

from workbench import tasks  # noqa: F401  (registers the job handlers)
from workbench.cli.app import app, database, fail
from workbench.noise.store import request_noise_scan
from workbench.review.bulk import decide_filter, filter_requests
from workbench.review.decisions import (
    ACTIONS,
    BULK_ACTIONS,
    DecisionError,
    DecisionRequest,
    Outcome,
    decide,
    recent_decisions,
    undo,
    undo_last,
)
from workbench.review.queue import QueueError, QueueFilter, load_rows, matching
from workbench.store.migrate import upgrade
from workbench.store.projects import get_project
from workbench.store.schema import Job, User
from workbench.worker import run_until_empty

review_app = typer.Typer(
    help="The lead's review: flagged items, cleaning decisions, undo.", no_args_is_help=True
)
app.add_typer(review_app, name="review")

USER_ENV = "WORKBENCH_USER"
PREVIEW_CHARS = 70

PROJECT = typer.Option(..., "--project", help="Project name.")
AS_LEAD = typer.Option(
    None, "--as", help=f"Lead to decide as (default: {USER_ENV}, else the only active lead)."
)
DETECTORS = typer.Option(None, "--detector", help="Only flags of this detector (repeatable).")
LABEL_FILTER = typer.Option(None, "--label", help="Only items with this gold label (imported included).")
ANNOTATOR = typer.Option(None, "--annotator", help="Only items this annotator labeled.")
SEARCH = typer.Option("", "--search", help="Only items whose text contains this (case-insensitive).")
MIN_SEVERITY = typer.Option(None, "--min-severity", min=0.0, max=1.0, help="Only flags at least this severe.")
MAX_SEVERITY = typer.Option(None, "--max-severity", min=0.0, max=1.0, help="Only flags at most this severe.")
REASON = typer.Option("", "--reason", help="Why (kept with the decision).")


def _start() -> None:
    upgrade(database())


def _project_id(name: str) -> int:
    with database().read() as session:
        project = get_project(session, name)
        if project is None:
            raise fail(f"no project named {name!r}")
        return project.id


def _lead_id(name: str | None) -> int:
    """The acting lead's id: ``--as``, else WORKBENCH_USER, else the only active lead."""
    name = name or os.environ.get(USER_ENV)
    with database().read() as session:
        if name:
            user = session.scalar(select(User).where(User.username == name))
            if user is None or not user.active or user.role != "lead":
                raise fail(f"{name!r} is not an active lead")
            return user.id
        leads = list(session.scalars(select(User.id).where(User.role == "lead", User.active.is_(True))))
    if len(leads) != 1:
        raise fail(f"there are {len(leads)} active leads: say which one with --as NAME (or {USER_ENV})")
    return leads[0]


def _filter(detectors, label, annotator, search, min_severity, max_severity) -> QueueFilter:
    return QueueFilter(tuple(detectors or ()), min_severity, max_severity, label, None, annotator, search)


def _report(outcome: Outcome, verb: str) -> None:
    batch = f" (batch {outcome.batch})" if outcome.batch else ""
    ids = ", ".join(str(item_id) for item_id in outcome.item_ids[:20])
    more = f" and {len(outcome.item_ids) - 20} more" if len(outcome.item_ids) > 20 else ""
    typer.echo(f"{verb} {len(outcome.decisions)} decision(s){batch} on items {ids}{more}")


@review_app.command("list")
def list_(
    project: str = PROJECT,
    detector: list[str] = DETECTORS,
    label: str = LABEL_FILTER,
    annotator: str = ANNOTATOR,
    search: str = SEARCH,
    min_severity: float = MIN_SEVERITY,
    max_severity: float = MAX_SEVERITY,
    limit: int = typer.Option(20, "--limit", min=1, help="Items to show."),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per line (item, label, flags with evidence)."
    ),
) -> None:
    """The review queue, most severe first, with each flag's evidence."""
    _start()
    project_id = _project_id(project)
    queue_filter = _filter(detector, label, annotator, search, min_severity, max_severity)
    try:
        with database().read() as session:
            matches = matching(session, project_id, queue_filter)
            rows = load_rows(session, project_id, matches[:limit])
    except QueueError as exc:
        raise fail(str(exc)) from None
    for row in rows:
        gold = None if row.label is None else {"label": row.label.label, "source": row.label.source}
        if as_json:
            flags = [
                {
                    "id": f.id,
                    "detector": f.detector,
                    "severity": f.severity,
                    "title": f.explanation.title,
                    "lines": f.explanation.lines,
                    "related": f.explanation.related,
                }
                for f in row.flags
            ]
            typer.echo(
                json.dumps(
                    {
                        "item_id": row.item.id,
                        "severity": row.severity,
                        "label": gold,
                        "text": row.item.text,
                        "flags": flags,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        preview = " ".join(row.item.text.split())[:PREVIEW_CHARS]
        shown_label = "no label" if row.label is None else f"{row.label.label} ({row.label.source})"
        typer.echo(f"item {row.item.id}  severity {row.severity:.2f}  {shown_label}  {preview}")
        for flag in row.flags:
            typer.echo(f"    {flag.detector} {flag.severity:.2f}: " + " | ".join(flag.explanation.lines))
    if not as_json:
        typer.echo(f"{len(matches)} flagged item(s); showing {len(rows)}")


@review_app.command("decide")
def decide_(
    project: str = PROJECT,
    item: int = typer.Option(..., "--item", help="Item id."),
    action: str = typer.Option(..., "--action", help=f"One of: {', '.join(ACTIONS)}."),
    label: str = typer.Option(None, "--label", help="The new label (relabel)."),
    response: str = typer.Option(None, "--response", help="The new response (edit)."),
    response_file: Path = typer.Option(
        None, "--response-file", help="Read the new response from a file (edit)."
    ),
    reason: str = REASON,
    as_lead: str = AS_LEAD,
) -> None:
    """Decide on one item: keep, relabel, drop, edit (its response) or keep_one (of its group)."""
    _start()
    project_id = _project_id(project)
    user_id = _lead_id(as_lead)
    if response_file is not None:
        response = response_file.read_text(encoding="utf-8")
    request = DecisionRequest(item, action, label=label, response=response, reason=reason)
    try:
        with database().write() as session:
            decision_id = decide(session, project_id, user_id, request).id
    except DecisionError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"decision {decision_id}: {action} item {item}" + (f" -> {label}" if action == "relabel" else "")
    )


@review_app.command("bulk")
def bulk(
    project: str = PROJECT,
    action: str = typer.Option(..., "--action", help=f"One of: {', '.join(BULK_ACTIONS)}."),
    label: str = typer.Option(None, "--to", help="The new label (relabel)."),
    detector: list[str] = DETECTORS,
    label_filter: str = LABEL_FILTER,
    annotator: str = ANNOTATOR,
    search: str = SEARCH,
    min_severity: float = MIN_SEVERITY,
    max_severity: float = MAX_SEVERITY,
    reason: str = REASON,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    as_lead: str = AS_LEAD,
) -> None:
    """Apply one action to every item the filter matches: all or nothing, undone together."""
    _start()
    project_id = _project_id(project)
    user_id = _lead_id(as_lead)
    queue_filter = _filter(detector, label_filter, annotator, search, min_severity, max_severity)
    try:
        with database().read() as session:
            n = len(filter_requests(session, project_id, queue_filter, action, label=label))
        if not yes and not typer.confirm(f"{action} {n} item(s)?"):
            raise fail("cancelled; nothing changed")
        with database().write() as session:
            outcome = decide_filter(
                session, project_id, user_id, queue_filter, action, label=label, reason=reason
            )
    except (DecisionError, QueueError) as exc:
        raise fail(str(exc)) from None
    _report(outcome, "applied")


@review_app.command("undo")
def undo_(
    project: str = PROJECT,
    decision: int = typer.Option(None, "--decision", help="Decision id (default: your last decision)."),
    reason: str = REASON,
    as_lead: str = AS_LEAD,
) -> None:
    """Undo a decision (a whole batch for a bulk decision); default the lead's last one."""
    _start()
    project_id = _project_id(project)
    user_id = _lead_id(as_lead)
    try:
        with database().write() as session:
            if decision is None:
                outcome = undo_last(session, project_id, user_id, reason=reason)
            else:
                outcome = undo(session, project_id, user_id, decision, reason=reason)
    except DecisionError as exc:
        raise fail(str(exc)) from None
    if outcome is None:
        typer.echo("nothing to undo")
        return
    _report(outcome, "undid")


@review_app.command("history")
def history(
    project: str = PROJECT, limit: int = typer.Option(20, "--limit", min=1, help="Decisions to show.")
) -> None:
    """The project's recent decisions, newest first."""
    _start()
    project_id = _project_id(project)
    with database().read() as session:
        recent = recent_decisions(session, project_id, limit=limit)
    for d in recent:
        what = (
            f"undo of {d.undoes_id}"
            if d.undoes_id is not None
            else d.action + (f" -> {d.label}" if d.label else "")
        )
        flags = (" batch" if d.batch else "") + (" undone" if d.undone else "")
        target = f"item {d.item_id}" if d.n_items == 1 else f"{d.n_items} items"
        typer.echo(
            f"{d.id:>6} {d.created_at:%Y-%m-%d %H:%M} {d.username:<12} {target:<13} {what}{flags}"
            + (f"  ({d.reason})" if d.reason else "")
        )


@review_app.command("scan")
def scan(
    project: str = PROJECT,
    now: bool = typer.Option(
        False, help="Run the detectors in this process instead of leaving it to the worker."
    ),
) -> None:
    """Run the noise detectors on the project (queued for the worker, or now)."""
    _start()
    project_id = _project_id(project)
    with database().write() as session:
        job_id = request_noise_scan(session, project_id).id
    if not now:
        typer.echo(f"noise scan queued as job {job_id}; the worker (./run.sh worker) runs it")
        return
    run_until_empty(database(), kinds=["find_noise"])
    with database().read() as session:
        job = session.get(Job, job_id)
        if job.status != "done":
            raise fail(f"noise scan failed: {(job.error or job.status).splitlines()[-1]}")
        flags = ", ".join(f"{name} {n}" for name, n in job.result["n_flags"].items() if n) or "none"
        typer.echo(f"{job.result['n_items']} items checked in {job.result['seconds']} s; open flags: {flags}")
