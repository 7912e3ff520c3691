"""Build a showcase project with real-looking activity, for the README screenshots and for demos.

    PYTHONPATH=. /tmp/setup/.venv/bin/python docs/showcase.py --db db/showcase.sqlite [--force]

Everything goes through the code the app, the worker and the CLI use; no row is written by hand:

1. ``workbench.ingest.import_file`` imports ~2,000 BANKING77 customer messages of 10 intents
   (a subset file without the ``label`` field: the dataset's labels are withheld from the project,
   annotators produce the labels; the script keeps them aside to play the annotators).
2. ``workbench.store.users.add_user`` adds a lead and four annotators (``PASSWORDS``).
3. The worker (``workbench.worker.run_until_empty`` with the handlers of ``workbench.tasks``)
   embeds the items with the bundled all-MiniLM-L6-v2 and runs the first round (diversity).
4. ``--sessions`` labeling sessions: each annotator claims items (``labeling.claim_next``) and
   labels them (``labeling.save_label`` with ``seconds_spent``) with the true intent, or a wrong
   but plausible one at the annotator's error rate, skipping and flagging a few. The first five
   sessions have ``overlap`` 2 (two annotators' labels per item); then the lead sets overlap 1
   (``projects.set_overlap``). After each batch the lead asks for a round
   (``rounds.request_round``) and the worker retrains and queues the next batch.
5. A noise scan (``workbench.noise.store.request_noise_scan``, run by the worker), then the lead's
   review (``workbench.review.decisions.decide``: relabel, keep, drop, keep one of a near-duplicate
   group) of part of the flags, a last round that trains on those decisions, and the embedding map
   (job ``map``).

Times: the labeling API takes the time of each action (``now``), so the sessions are spread over
the working hours of the days before the build (two sessions a day), at each annotator's pace.
Rounds, jobs, the noise scan and the lead's decisions carry the time the build ran: ``run_round``
and the job queue take no time argument, and decisions come after the scan's flags. Hence the lead
asks for each round: labels dated before the latest round never reach the ``round_threshold``.

The models directory (scorer artefacts and derived files) is ``models/<db file stem>/``; start the
app on the showcase with the same ``WORKBENCH_MODELS_DIR`` (``docs/screenshots.py`` does).

Data: BANKING77 (PolyAI-LDN/task-specific-datasets, CC BY 4.0), Casanueva et al. 2020, *Efficient
Intent Detection with Dual Sentence Encoders*; see ``docs/img/ATTRIBUTION.md``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sqlalchemy import func, select  # noqa: E402

from workbench.config import BUNDLED_MODEL, REPO_ROOT  # noqa: E402
from workbench.ingest import import_file  # noqa: E402
from workbench.insight.map import MAP_JOB  # noqa: E402
from workbench.noise.store import open_flag_counts, open_flags, request_noise_scan  # noqa: E402
from workbench.review.decisions import DecisionError, DecisionRequest, decide  # noqa: E402
from workbench.rounds import request_round  # noqa: E402
from workbench.store import jobs, labeling, migrate, projects, users  # noqa: E402
from workbench.store.engine import Database  # noqa: E402
from workbench.store.gold import gold_labels  # noqa: E402
from workbench.store.schema import Item, Job, Project, Round  # noqa: E402
from workbench.tasks import schedule_rounds  # noqa: E402
from workbench.worker import run_until_empty  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/banking77/banking77.jsonl")
PROJECT = "banking-intents"
DESCRIPTION = (
    "Customer messages to a bank (BANKING77, CC BY 4.0, Casanueva et al. 2020), 10 of its 77 intents. "
    "Label each message with what the customer wants."
)
#: The intents kept, in display order (keys 1-9 for the first nine), with the guideline annotators see.
INTENTS: dict[str, str] = {
    "card_arrival": "The customer is waiting for a new card to arrive.",
    "activate_my_card": "The customer has the card and asks how to activate it.",
    "card_payment_fee_charged": "A fee on a card payment.",
    "transfer_fee_charged": "A fee on a bank transfer.",
    "cash_withdrawal_charge": "A fee on an ATM cash withdrawal.",
    "declined_card_payment": "A card payment was declined.",
    "pending_transfer": "An outgoing transfer is still pending.",
    "transfer_not_received_by_recipient": "A transfer went through but the recipient does not have it.",
    "pending_top_up": "A top-up is still pending.",
    "top_up_failed": "A top-up failed or was declined.",
}
#: Intents a hurried annotator mixes up: a wrong label is one of these most of the time.
CONFUSABLE: tuple[tuple[str, ...], ...] = (
    ("card_arrival", "activate_my_card"),
    ("card_payment_fee_charged", "transfer_fee_charged", "cash_withdrawal_charge"),
    ("declined_card_payment", "top_up_failed"),
    ("pending_transfer", "transfer_not_received_by_recipient"),
    ("pending_top_up", "top_up_failed"),
)
LEAD = "lead"
#: Passwords of the showcase accounts (a local demo database; never reuse them).
PASSWORDS = {
    LEAD: "showcase-lead",
    "ana": "showcase-ana",
    "ben": "showcase-ben",
    "chloe": "showcase-chloe",
    "dev": "showcase-dev",
}
#: Share of each detector's open flags (most severe first) the lead decides on; the rest stays
#: in the Review queue.
REVIEWED_SHARE = {"annotator_flag": 0.6, "label_conflict": 1.0, "label_issue": 0.7, "disagreement": 0.6}
#: Near-duplicate groups in which the lead keeps one message.
DUPLICATE_GROUPS_DECIDED = 5
NEAR_DUPLICATE = "near_duplicate"
#: The first sessions have two annotators per item (``overlap`` 2), to measure agreement; then the
#: lead sets overlap 1 and every item gets one label.
OVERLAP_SESSIONS = 5
#: Hours (UTC) at which the two labeling sessions of a day begin.
SESSION_HOURS = (9.5, 14.0)


@dataclass(frozen=True)
class Annotator:
    """How one simulated annotator works.

    Attributes
    ----------
    name : str
    error_rate : float
        Share of labels that are wrong (a confusable intent 80 % of the time, else any other).
    median_seconds : float
        Median time spent on an item (log-normal spread around it).
    per_session : int
        Items handled (labeled, skipped or flagged) in one session.
    skip_rate, flag_rate : float
    """

    name: str
    error_rate: float
    median_seconds: float
    per_session: int
    skip_rate: float = 0.02
    flag_rate: float = 0.01


ANNOTATORS = (
    Annotator("ana", error_rate=0.03, median_seconds=7.0, per_session=60),
    Annotator("ben", error_rate=0.08, median_seconds=10.0, per_session=50),
    Annotator("chloe", error_rate=0.15, median_seconds=13.0, per_session=45),
    Annotator("dev", error_rate=0.05, median_seconds=9.0, per_session=45, skip_rate=0.05),
)
FLAG_COMMENTS = {
    "unclear": ("could be either", "two questions in one message", "not sure which fee this is"),
    "duplicate": ("same message as one I labeled earlier",),
}


class Steps:
    """Prints each step's outcome with its wall-clock time, and keeps the times for the summary."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        print(f"-- {name} ...", flush=True)
        started = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - started
        print(f"   {name}: {self.seconds[name]:.1f} s", flush=True)


def write_subset(source: Path, folder: Path, seed: int) -> tuple[Path, dict[str, str]]:
    """The rows of ``INTENTS`` without their labels, shuffled, as a JSONL file to import.

    Returns
    -------
    (path, true label per row id)
    """
    rows = []
    with source.open(encoding="utf-8") as file:
        for line in file:
            row = json.loads(line)
            if row["label"] in INTENTS:
                rows.append(row)
    if not rows:
        raise SystemExit(f"{source}: no rows with the intents {', '.join(INTENTS)}")
    # Shuffled, so the queue's fallback (import order) is a random sample, not one intent after another.
    random.Random(seed).shuffle(rows)
    path = folder / "banking77-10-intents.jsonl"
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps({"id": row["id"], "text": row["text"]}, ensure_ascii=False) + "\n")
    return path, {row["id"]: row["label"] for row in rows}


def session_starts(n_sessions: int, build_time: datetime) -> list[datetime]:
    """Two sessions a day on the days before ``build_time``, the last one yesterday."""
    n_days = -(-n_sessions // len(SESSION_HOURS))
    first_day = (build_time - timedelta(days=n_days)).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [
        first_day + timedelta(days=day, hours=hour)
        for day in range(n_days)
        for hour in SESSION_HOURS
    ]
    return starts[-n_sessions:]


class Team:
    """The simulated annotators of one project: who they are and what they did."""

    def __init__(self, db: Database, project_id: int, truth: dict[int, str], seed: int) -> None:
        self.db = db
        self.project_id = project_id
        self.truth = truth
        self.rng = random.Random(seed)
        with db.read() as session:
            self.user_ids = {a.name: users.get_user(session, a.name).id for a in ANNOTATORS}
        self.counts: dict[str, Counter[str]] = {a.name: Counter() for a in ANNOTATORS}
        self.confusable = {
            intent: [other for other in group if other != intent] for group in CONFUSABLE for intent in group
        }

    def _label(self, annotator: Annotator, true_label: str) -> str:
        if self.rng.random() >= annotator.error_rate:
            return true_label
        near = self.confusable.get(true_label)
        if near and self.rng.random() < 0.8:
            return self.rng.choice(near)
        return self.rng.choice([intent for intent in INTENTS if intent != true_label])

    def _seconds(self, annotator: Annotator) -> float:
        return min(120.0, max(2.0, self.rng.lognormvariate(0.0, 0.5) * annotator.median_seconds))

    def _handle_one(self, annotator: Annotator, now: datetime) -> datetime | None:
        """Claim an item at ``now`` and label, skip or flag it; the time the annotator is done,
        or None when the queue has nothing for them."""
        user_id = self.user_ids[annotator.name]
        with self.db.write() as session:
            claim = labeling.claim_next(session, self.project_id, user_id, now=now)
        if claim is None:
            return None
        seconds = self._seconds(annotator)
        done = now + timedelta(seconds=seconds)
        draw = self.rng.random()
        with self.db.write() as session:
            if draw < annotator.skip_rate:
                labeling.skip(session, self.project_id, user_id, claim.item_id, now=done)
                self.counts[annotator.name]["skipped"] += 1
            elif draw < annotator.skip_rate + annotator.flag_rate:
                reason = self.rng.choice(sorted(FLAG_COMMENTS))
                comment = self.rng.choice(FLAG_COMMENTS[reason])
                labeling.flag(session, self.project_id, user_id, claim.item_id, reason, comment, now=done)
                self.counts[annotator.name]["flagged"] += 1
            else:
                true_label = self.truth[claim.item_id]
                label = self._label(annotator, true_label)
                labeling.save_label(
                    session, self.project_id, user_id, claim.item_id, label,
                    seconds_spent=round(seconds, 1), now=done,
                )
                self.counts[annotator.name]["labeled"] += 1
                self.counts[annotator.name]["wrong"] += label != true_label
        return done

    def work_session(self, start: datetime, share: float = 1.0) -> tuple[int, datetime]:
        """Everyone works through the queue from about ``start``, in time order, handling ``share``
        of their usual number of items; (items handled, when the last one was done)."""
        clock: list[tuple[datetime, int]] = []
        for index, annotator in enumerate(ANNOTATORS):
            heapq.heappush(clock, (start + timedelta(minutes=self.rng.uniform(0, 75)), index))
        handled = Counter[int]()
        last = start
        while clock:
            now, index = heapq.heappop(clock)
            annotator = ANNOTATORS[index]
            done = self._handle_one(annotator, now)
            if done is None:
                continue
            handled[index] += 1
            last = max(last, done)
            if handled[index] < round(annotator.per_session * share):
                pause = self.rng.uniform(1, 4)
                if self.rng.random() < 0.03:  # a coffee, a question, a meeting
                    pause += self.rng.uniform(180, 900)
                heapq.heappush(clock, (done + timedelta(seconds=pause), index))
        return sum(handled.values()), last


def lead_review(db: Database, project_id: int, lead_id: int, truth: dict[int, str]) -> Counter[str]:
    """The lead works through the most severe flags with ``workbench.review.decisions.decide``,
    one item at a time as on the Review page; decisions per action.

    The lead knows the true intent: a wrong or missing gold label is relabeled, a right one kept,
    a message an annotator flagged as a duplicate dropped; in a few near-duplicate groups one
    message is kept. Near-duplicate flags are answered only by ``keep_one``.
    """
    with db.read() as session:
        flags = open_flags(session, project_id)
        gold = gold_labels(session, project_id)
    by_detector: dict[str, list[int]] = defaultdict(list)
    own_flags: dict[int, list[int]] = defaultdict(list)
    reasons: dict[int, str] = {}
    for flag in flags:
        by_detector[flag.detector].append(flag.item_id)
        if flag.detector != NEAR_DUPLICATE:
            own_flags[flag.item_id].append(flag.id)
        if flag.detector == labeling.ANNOTATOR_FLAG:
            reasons[flag.item_id] = flag.evidence.get("reason", "")
    chosen: dict[int, None] = {}  # items in review order, once each
    for detector, share in REVIEWED_SHARE.items():
        items = list(dict.fromkeys(by_detector[detector]))
        chosen.update(dict.fromkeys(items[: round(len(items) * share)]))
    requests = []
    for item_id in chosen:
        answered = tuple(own_flags[item_id])
        current = gold.get(item_id)
        if reasons.get(item_id) == "duplicate":
            requests.append(DecisionRequest(item_id, "drop", flag_ids=answered, reason="same message twice"))
        elif current is not None and current.label == truth[item_id]:
            requests.append(DecisionRequest(item_id, "keep", flag_ids=answered))
        else:
            requests.append(DecisionRequest(item_id, "relabel", label=truth[item_id], flag_ids=answered))
    for item_id in list(dict.fromkeys(by_detector[NEAR_DUPLICATE]))[: DUPLICATE_GROUPS_DECIDED * 4]:
        requests.append(DecisionRequest(item_id, "keep_one", reason="the clearest wording"))
    done: Counter[str] = Counter()
    for request in requests:
        if request.action == "keep_one" and done["keep_one"] >= DUPLICATE_GROUPS_DECIDED:
            break
        try:
            with db.write() as session:
                decide(session, project_id, lead_id, request)
        except DecisionError:
            continue  # e.g. a group in which the lead already kept one
        done[request.action] += 1
    return done


def run_jobs(db: Database, on_idle: Callable[[Database], list[Job]] | None = None) -> list[str]:
    """Run the queued jobs in this process as the worker would; a failed job stops the build."""
    done = run_until_empty(db, on_idle=on_idle)
    with db.read() as session:
        for job in (session.get(Job, job.id) for job in done):
            if job.status != "done":
                raise SystemExit(f"job {job.kind} #{job.id} {job.status}:\n{job.error}")
    return [job.kind for job in done]


def models_dir_for(db_path: Path) -> Path:
    """Where the showcase's scorer artefacts and derived files go (git-ignored ``models/``)."""
    return REPO_ROOT / "models" / db_path.stem


def build(db_path: Path, data: Path, n_sessions: int, seed: int) -> None:
    models_dir = models_dir_for(db_path)
    # Files left by an earlier showcase of the same name belong to a database that is gone.
    shutil.rmtree(models_dir, ignore_errors=True)
    os.environ["WORKBENCH_MODELS_DIR"] = str(models_dir)  # read by the round handler
    db = Database(f"sqlite:///{db_path.resolve()}")
    steps = Steps()
    build_time = datetime.now(timezone.utc)

    with steps.step("schema"):
        migrate.upgrade(db)
    with steps.step("users"):
        with db.write() as session:
            for name, password in PASSWORDS.items():
                role = "lead" if name == LEAD else "annotator"
                users.add_user(session, name, password, role, actor="showcase")
    with steps.step("import"):
        models_dir.mkdir(parents=True)
        subset, truth_by_id = write_subset(data, models_dir, seed)
        with db.write() as session:
            project = projects.create_project(
                session,
                PROJECT,
                labels=projects.make_label_schema(list(INTENTS), INTENTS),
                embedding_model=BUNDLED_MODEL,
                description=DESCRIPTION,
                # A control slice of 20 items a round: the Learning page's random-sampling estimate
                # needs 150 labeled control items, which 5 % of a 100-item batch never reaches here.
                settings={"overlap": 2, "batch_size": 100, "round_threshold": 100, "control_share": 0.2},
                actor=LEAD,
            )
            project_id = project.id
        # A relative path reads better in the Overview page's list of imports.
        report = import_file(db, os.path.relpath(subset), PROJECT, actor=LEAD)
        print(f"   {report.n_imported} items from {data.name}, {len(INTENTS)} intents (labels withheld)")
    with db.read() as session:
        truth = {
            item_id: truth_by_id[external_id]
            for item_id, external_id in session.execute(
                select(Item.id, Item.external_id).where(Item.project_id == project_id)
            )
        }

    with steps.step("embed + first round (worker)"):
        with db.write() as session:
            jobs.enqueue(session, "embed", project_id=project_id)
        print(f"   jobs: {', '.join(run_jobs(db, on_idle=schedule_rounds))}")

    team = Team(db, project_id, truth, seed)
    with db.read() as session:
        lead_id = users.get_user(session, LEAD).id
    for number, start in enumerate(session_starts(n_sessions, build_time), start=1):
        if number == OVERLAP_SESSIONS + 1:
            with db.write() as session:
                project = session.get(Project, project_id)
                projects.set_overlap(session, project, 1, actor=LEAD, user_id=lead_id)
            print("-- the lead sets overlap 1: agreement is known, single labels from now on")
        # With one label per item a batch lasts half a session: the lead asks for a round midway.
        halves = 1 if number <= OVERLAP_SESSIONS else 2
        with steps.step(f"session {number} ({start:%a %H:%M}) + {halves} round(s)"):
            for _ in range(halves):
                handled, last = team.work_session(start, share=1 / halves)
                with db.write() as session:
                    request_round(session, project_id, user_id=lead_id)
                run_jobs(db)
                print(f"   {handled} items handled; {_round_line(db, project_id)}")
                start = last + timedelta(minutes=10)

    with steps.step("noise scan (worker)"):
        with db.write() as session:
            request_noise_scan(session, project_id, user_id=lead_id)
        run_jobs(db)
        with db.read() as session:
            flags = open_flag_counts(session, project_id)
        print(f"   open flags: {', '.join(f'{k} {v}' for k, v in sorted(flags.items())) or 'none'}")

    with steps.step("lead review + round"):
        decided = lead_review(db, project_id, lead_id, truth)
        print(f"   decisions: {', '.join(f'{k} {v}' for k, v in sorted(decided.items()))}")
        with db.write() as session:
            request_round(session, project_id, user_id=lead_id)
        run_jobs(db)
        print(f"   {_round_line(db, project_id)}")

    with steps.step("embedding map (worker)"):
        with db.write() as session:
            jobs.enqueue(session, MAP_JOB, project_id=project_id, created_by=lead_id)
        run_jobs(db)

    db.dispose()
    _summary(team, steps)
    print(f"\nshowcase database: {db_path}  (models: {models_dir})")
    print(f"sign in as {LEAD} / {PASSWORDS[LEAD]} (annotators: {', '.join(a.name for a in ANNOTATORS)}; "
          "password showcase-<name>)")


def _round_line(db: Database, project_id: int) -> str:
    with db.read() as session:
        latest = session.scalar(
            select(Round).where(Round.project_id == project_id).order_by(Round.number.desc()).limit(1)
        )
        n_rounds = session.scalar(
            select(func.count()).select_from(Round).where(Round.project_id == project_id)
        )
    cv = (latest.metrics or {}).get("cv") or {}
    accuracy = cv.get("accuracy")
    shown = "n/a" if accuracy is None else f"{accuracy:.3f}"
    return f"round {latest.number} of {n_rounds}: {latest.n_labels} gold labels, CV accuracy {shown}"


def _summary(team: Team, steps: Steps) -> None:
    print("\nannotator   labeled  wrong  skipped  flagged")
    for annotator in ANNOTATORS:
        c = team.counts[annotator.name]
        print(f"{annotator.name:<10} {c['labeled']:>8} {c['wrong']:>6} {c['skipped']:>8} {c['flagged']:>8}")
    print(f"total {sum(steps.seconds.values()):.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", type=Path, default=REPO_ROOT / "db" / "showcase.sqlite", help="SQLite file to create"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="banking77.jsonl (id, text, label)")
    parser.add_argument(
        "--sessions", type=int, default=8, help="labeling sessions (two a day); a round follows each batch"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace an existing database file")
    args = parser.parse_args(argv)
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    if not args.data.is_file():
        parser.error(f"{args.data}: no such file (BANKING77 as JSONL with id, text, label)")
    if args.db.exists():
        if not args.force:
            parser.error(f"{args.db} exists; --force replaces it")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    build(args.db, args.data, args.sessions, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
