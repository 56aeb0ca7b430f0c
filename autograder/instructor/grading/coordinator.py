"""Grade a folder of submissions: find, hash, skip, fan out on Dask, collect, write.

    python -m autograder.instructor.grading.coordinator SUBMISSIONS [--scheduler tcp://host:8786]
        [--workers N]

SUBMISSIONS holds ``<student>/<chapter>/<chapter>.ipynb``. This is the coordinator:

1. it finds the submissions and stages nothing: it reads each notebook's bytes
   itself, refusing symlinks, folders that resolve outside SUBMISSIONS, ids that
   are not plain names, and noting folders with no notebook ("missing");
2. it builds each chapter's grading release once (nbgrader ``generate_assignment``
   into the gradebook, then ``worker.GradingRelease``) and refuses a gradebook made
   from a different release of the course unless told to ``--migrate``;
3. a submission whose content hash and release are unchanged since its record
   was written is not graded again;
4. the rest go to Dask (a LocalCluster with one single-threaded worker per core,
   or the cluster at ``--scheduler``) as ``worker.grade_task`` calls. A worker
   gets the submission's bytes and the chapter's release, never the repository or
   the gradebook. A worker that dies has its task retried elsewhere; a notebook
   that kills three workers is scored zero ("crashed"); one still running long after its
   own limit is stopped and recorded as ``timeout`` (``backstop.py``);
5. each record is written as it arrives (``records/<chapter>/<student>.json``,
   then the gradebook by ``gradebook.write_record``, its one writer), so Ctrl-C or
   a crash loses nothing and the same command resumes;
6. then feedback for each chapter in one pass, and the CSVs.
"""

from __future__ import annotations

import argparse
import dataclasses
import faulthandler
import hashlib
import json
import shutil
import signal
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat

from autograder.instructor.config import CELL_TIMEOUT_S
from autograder.instructor.course import Course, chapter_ids, course_for_cli
from autograder.instructor.grading.backstop import BACKSTOP_MARGIN_S, Stuck, finished, render_on, stuck_reason
from autograder.instructor.grading.boundary import (
    clean_text,
    load_record,
    normalise_notebook,
    normalise_record,
)
from autograder.instructor.grading.chapter_release import release_fields
from autograder.instructor.grading.cluster import DASK_CONFIG, MAX_CRASHES, ClusterStart, make_client  # noqa: F401
from autograder.instructor.grading.gradebook import write_record
from autograder.instructor.grading.overrides import load_overrides, override_for, save_override
from autograder.instructor.grading.progress import Progress
from autograder.instructor.grading.records import Record
from autograder.instructor.grading.staging import Found, find_submissions

NOTEBOOK_TIMEOUT_S = 900
SLOW_CLOSE_S = 60  # after Ctrl-C: every thread's stack on stderr if the cluster is still closing
RELEASES = "releases.json"


def build_releases(root: Path, chapters: list[str], solutions: Path, options: dict[str, Any]) -> dict:
    """nbgrader ``generate_assignment`` into the grading course (the gradebook learns each
    chapter's cells), then one ``GradingRelease`` per chapter."""
    from autograder.instructor.grading.worker import GradingRelease

    for folder in ("source", "release"):
        shutil.rmtree(root / folder, ignore_errors=True)
    fields = release_fields(root, chapters, solutions, cell_timeout=int(options["cell_timeout"]))
    return {chapter: GradingRelease(**fields[chapter], **options) for chapter in chapters}


def content_hash(solutions: Path, chapter: str) -> str:
    """What a chapter's release is made of: its source cells (not their outputs)."""
    nb = nbformat.read(str(solutions / chapter / f"{chapter}.ipynb"), as_version=4)
    cells = [(c.cell_type, c.source, c.metadata.get("nbgrader", {})) for c in nb.cells]
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()


def check_releases(root: Path, hashes: dict[str, str], migrate: bool) -> list[str]:
    """Chapters whose gradebook was built from a different release (empty when all agree)."""
    path = root / RELEASES
    known = json.loads(path.read_text()) if path.is_file() else {}
    return [c for c, h in hashes.items() if c in known and known[c] != h and not migrate]


def save_releases(root: Path, hashes: dict[str, str]) -> None:
    path = root / RELEASES
    known = json.loads(path.read_text()) if path.is_file() else {}
    known.update(hashes)
    path.write_text(json.dumps(known, indent=1, sort_keys=True))


# -- records --------------------------------------------------------------------------------

def record_path(root: Path, chapter: str, student: str) -> Path:
    return root / "records" / chapter / f"{student}.json"


def read_record(root: Path, chapter: str, student: str) -> Record | None:
    """The stored record, or None: not graded yet, or a torn write from a crash (grade again)."""
    path = record_path(root, chapter, student)
    return load_record(path) if path.is_file() else None


@dataclass
class Stored:
    """One notebook's outcome as the coordinator stores it: the record and the graded notebook."""

    record: Record
    notebook: str | None = None  # JSON text; None when nothing ran or it could not be kept


def save(root: Path, stored: Stored) -> None:
    """A record, atomically, then the gradebook: the point from which a rerun resumes."""
    record = stored.record
    path = record_path(root, record.chapter, record.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record.to_dict(), indent=1), encoding="utf-8")
    write_record(root, record, stored.notebook)
    tmp.replace(path)


def crashed(item: Found, release: Any, error: BaseException) -> Stored:
    from autograder.instructor.grading.worker import zero_scores

    record = Record(item.student, item.chapter, status="crashed",
                    reason=f"grading this notebook killed {MAX_CRASHES} workers ({type(error).__name__})",
                    submission_sha256=item.sha256, release_sha256=release.release_sha256,
                    sandboxed=release.sandbox, ignored_files=list(item.ignored_files),
                    overrides=[dict(decision) for decision in item.decisions])
    zero_scores(nbformat.reads(release.template, as_version=4), record)
    return Stored(record)


def failed(item: Found, release: Any, error: BaseException, where: str) -> Stored:
    """The ``error`` record of one notebook whose grading or storing went wrong."""
    stored = crashed(item, release, error)
    stored.record.status = "error"
    stored.record.reason = clean_text(f"{where}: {type(error).__name__}: {error}")[:500]
    return stored


def normalised(item: Found, release: Any, result: Any) -> Stored:
    """A worker's result as the coordinator stores it (``boundary.py``): typed, valid UTF-8,
    the notebook valid and within the cap, the instructor's markdown as written."""
    from autograder.instructor.grading.sandbox import Limits

    if not isinstance(result, dict):
        raise ValueError(f"the worker returned a {type(result).__name__}, not a result")
    record = normalise_record(result.get("record"), item.student, item.chapter, item.sha256,
                              release.release_sha256)
    record.overrides = [dict(decision) for decision in item.decisions]  # ours, never the worker's
    template = nbformat.reads(release.template, as_version=4)
    output_bytes = int(Limits(**release.limits).output_bytes or 0)
    notebook, dropped = normalise_notebook(result.get("notebook"), template, output_bytes)
    if dropped:
        record.reason = (record.reason + " " if record.reason else "") + f"({dropped})"
    return Stored(record, notebook)


def collect(root: Path, item: Found, release: Any, result: Any = None,
            error: BaseException | None = None, out=print) -> Record | None:
    """Store one notebook's outcome; whatever goes wrong costs this notebook only (its record
    says ``error``). The stored record, or None when even that could not be written."""
    try:
        if error is not None:
            raise error
        stored = normalised(item, release, result)
        save(root, stored)
        return stored.record
    except Exception as problem:  # anything that went wrong around one notebook
        if isinstance(problem, Stuck):
            stored = crashed(item, release, problem)
            stored.record.status, stored.record.reason = "timeout", str(problem)
        elif type(problem).__name__ == "KilledWorker":  # Dask's; not imported: --workers 0 needs no Dask
            stored = crashed(item, release, problem)
        else:
            stored = failed(item, release, problem, "grading failed" if result is None
                            else "storing the graded notebook failed")
    try:
        save(root, stored)
        return stored.record
    except Exception as problem:
        out(f"warning: {item.student}/{item.chapter}: not recorded ({type(problem).__name__}: "
            f"{clean_text(str(problem))[:300]}); the next run grades it again")
        return None


# -- scheduling -----------------------------------------------------------------------------

def run_tasks(todo: list[Found], releases: dict, root: Path, client: Any, progress: Any,
              task_function: Any = None, margin: float = BACKSTOP_MARGIN_S) -> None:
    """Submit every notebook to the cluster and save each record as it arrives; a notebook still
    running ``margin`` seconds past its own limit is stopped and recorded (``backstop.py``).
    ``task_function`` (default ``worker.grade_task``) is replaceable for tests."""
    from autograder.instructor.grading.worker import grade_task

    task_function = task_function or grade_task
    # Each task carries its chapter's release (plain data, well under a megabyte), not a
    # scattered copy: data held by one worker is lost with it, and its tasks with it.
    shipped = {c: r.to_dict() for c, r in releases.items()}
    # One graph, not one submit a notebook: seeing the whole batch at once, Dask queues it on the
    # scheduler (DASK_CONFIG), so a worker holds only the notebook it grades.
    futures = client.map(task_function, [item.task() for item in todo],
                         [shipped[item.chapter] for item in todo], pure=False,
                         key=[f"grade-{item.chapter}-{item.student}-{item.sha256[:12]}" for item in todo])
    items = dict(zip(futures, todo))
    limits = {future.key: float(releases[item.chapter].notebook_timeout) + margin
              for future, item in items.items()}
    for future, stopped in finished(client, list(items), limits):
        item = items.pop(future)
        result, error = None, None
        if stopped:
            error = Stuck(stuck_reason(limits[future.key], releases[item.chapter].notebook_timeout))
        else:
            try:
                result = future.result()
            except Exception as problem:  # a dead worker (KilledWorker), or the task raised
                error = problem
        future.release()  # the result is stored below; the cluster need not hold it too
        progress.update(collect(root, item, releases[item.chapter], result, error)
                        or Record(item.student, item.chapter, status="error"))
        del result


# -- the whole batch ------------------------------------------------------------------------

@dataclass(frozen=True)
class GradeSettings:
    """How a batch is graded: the grade CLI's options, one field each."""

    cell_timeout: float = CELL_TIMEOUT_S  # seconds a cell may run
    notebook_timeout: float = NOTEBOOK_TIMEOUT_S  # seconds a whole notebook may take
    scheduler: str | None = None  # a running Dask scheduler's address; None: a local cluster
    workers: int | None = None  # local Dask workers (None: one per core; 0: in this process)
    sandbox: bool = True  # bubblewrap around student code
    migrate: bool = False  # accept a gradebook made from an earlier release, and re-grade
    feedback: bool = True  # write the HTML feedback
    limits: dict[str, Any] = field(default_factory=dict)  # sandbox.Limits fields
    progress: bool = True  # a progress bar on stderr
    isolation: str | None = None  # "kernel" or "two-process"; None: GradingRelease's default
    only: tuple[str, str] | None = None  # (student, chapter): grade that one submission only

    def release_options(self) -> dict[str, Any]:
        """The fields a ``GradingRelease`` takes from these settings."""
        # The per-cell limit is also each call's into the student's process (two-process grading): a
        # learner's cell there is one call, so `--timeout 10` stops a loop at 10 s, as nbgrader would.
        options = {"cell_timeout": self.cell_timeout, "notebook_timeout": self.notebook_timeout,
                   "call_timeout": float(self.cell_timeout), "sandbox": self.sandbox,
                   "limits": dict(self.limits)}
        return options if self.isolation is None else {**options, "isolation": self.isolation}


def warm_kind(settings: GradeSettings) -> Any:
    """The kind of T kernel this batch's workers will fork (warm_kernels.py); None: one-kernel."""
    from autograder.instructor.grading.sandbox import Limits
    from autograder.instructor.grading.warm_kernels import Kind
    from autograder.instructor.grading.worker import GradingRelease, default_isolation

    if (settings.isolation or default_isolation()) != "two-process":
        return None
    # build_releases leaves GradingRelease.figures at its default (make grade draws the figures)
    figures = next(f.default for f in dataclasses.fields(GradingRelease) if f.name == "figures")
    return Kind(Limits(**settings.limits), settings.sandbox, "cpu", figures)


def to_grade(root: Path, found: list[Found], first_chapter: str, releases: dict) -> list[Found]:
    """The submissions whose record is missing or was made from other bytes, overrides or release."""
    # Problems found while reading (symlinks, missing notebooks) for chapter "-" are
    # recorded under the first chapter so that the student still appears in the CSVs.
    for item in found:
        if item.chapter == "-":
            item.chapter = first_chapter
    decided = load_overrides(root)
    todo = []
    for item in found:
        override = override_for(decided, item.student, item.chapter, item.sha256)
        item.decisions = tuple(override.entries()) if override else ()
        old = read_record(root, item.chapter, item.student)
        if (old and old.submission_sha256 == item.sha256 and old.overrides == list(item.decisions)
                and old.release_sha256 == releases[item.chapter].release_sha256):
            continue
        todo.append(item)
    return todo


def grade(submissions: Path, root: Path, course: Course, settings: GradeSettings | None = None,
          out=print, task_function: Any = None) -> list[Record]:
    """Grade every submission under ``submissions`` into the course folder ``root``; the records.
    ``task_function`` (default ``worker.grade_task``) is replaceable for tests."""
    from autograder.instructor.grading.worker import grade_task

    settings = settings or GradeSettings()
    task_function = task_function or grade_task
    submissions, root = submissions.resolve(), root.resolve()
    if root == submissions or root.is_relative_to(submissions) or submissions.is_relative_to(root):
        raise ValueError("--out and the submissions folder must not contain each other.")
    known = chapter_ids(course.solutions)
    found, notes = find_submissions(submissions, known)
    chapters = sorted({f.chapter for f in found if f.chapter in known})
    from autograder.instructor.classroom.roster import roster_warnings

    for note in notes + roster_warnings(root, [(f.student, f.chapter) for f in found], chapters or known[:1]):
        out(f"warning: {note}")
    if settings.only is not None:
        found = [f for f in found if (f.student, f.chapter) == settings.only]
    if not found:
        out(f"No submissions found in {submissions} (expected <student>/<chapter>/<chapter>.ipynb).")
        return []
    root.mkdir(parents=True, exist_ok=True)
    from autograder.instructor.grading.gradebook import backup_before_writing, remember_graded_answers

    chapters = chapters or known[:1]
    hashes = {c: content_hash(course.solutions, c) for c in chapters}
    different = check_releases(root, hashes, settings.migrate)
    if different:
        raise ReleaseMismatch(
            f"The gradebook in {root} was made from a different release of {', '.join(different)} "
            "(solutions/ changed since). Re-grading would mix two versions of the tests. Run again "
            "with --migrate (make grade ... MIGRATE=1) to re-grade every submission of those chapters "
            "against the new release (a backup of the gradebook is kept), or use another --out.")
    backup_before_writing(root)
    on_cluster = settings.workers != 0 or bool(settings.scheduler)
    # A new submission: the cluster (and T's warm parent on each worker) starts while the releases
    # are built (cluster.py); nothing new, and it starts only if a release changed.
    news = [f for f in found if (r := read_record(root, f.chapter, f.student)) is None
            or r.submission_sha256 != f.sha256]
    warm = warm_kind(settings) if task_function is grade_task else None  # a test's own tasks need no T
    starting = ClusterStart(settings.scheduler, settings.workers, warm) if on_cluster and news else None
    try:
        releases = build_releases(root, chapters, course.solutions, settings.release_options())
        remember_graded_answers(root)
        save_releases(root, hashes)
        todo = to_grade(root, found, chapters[0], releases)
    except BaseException:
        if starting is not None:
            starting.close()
        raise
    skipped = len(found) - len(todo)
    if skipped:
        out(f"{skipped} of {len(found)} submissions unchanged since they were graded: kept.")
    bar = Progress(len(todo), enabled=settings.progress)
    from autograder.instructor.grading.feedback import write_feedback

    def all_records() -> list[Record]:
        records = [read_record(root, f.chapter, f.student) for f in found]
        return [r for r in records if r is not None]

    if not todo and starting is not None:
        starting.close()
    if todo and on_cluster:
        client, cluster = starting.get() if starting else make_client(settings.scheduler, settings.workers)
        interrupted = False
        try:
            run_tasks(todo, releases, root, client, bar, task_function)
            bar.close()
            if settings.feedback:  # rendered on the workers too
                write_feedback(root, all_records(), mapper=render_on(client))
        except KeyboardInterrupt:  # closing the cluster should take seconds: if not, say where it waits
            faulthandler.dump_traceback_later(SLOW_CLOSE_S, file=sys.__stderr__)
            interrupted = True
            raise
        finally:
            bar.close()
            client.close()
            if cluster is not None:
                cluster.close()
            if interrupted:  # closed in time: no stacks later in a caller that goes on (main sets
                faulthandler.cancel_dump_traceback_later()  # it again for the exit)
        return all_records()
    for item in todo:  # in this process (--workers 0): a handful of notebooks, or tests
        try:
            result, error = task_function(item.task(), releases[item.chapter]), None
        except Exception as problem:
            result, error = None, problem
        record = collect(root, item, releases[item.chapter], result, error, out=out)
        bar.update(record or Record(item.student, item.chapter, status="error"))
    bar.close()
    if settings.feedback:
        write_feedback(root, all_records())
    return all_records()


def regrade(submissions: Path, root: Path, course: Course, settings: GradeSettings, student: str,
            chapter: str, allow: list[str], by: str | None = None, out=print) -> list[Record]:
    """Re-grade one submission with the cells ``allow`` running as written (``overrides.py``): the
    instructor's decision, recorded (who, when, which cells) and kept while the submission is
    unchanged."""
    found, _ = find_submissions(submissions.resolve(), chapter_ids(course.solutions))
    item = next((f for f in found if (f.student, f.chapter) == (student, chapter)), None)
    if item is None or item.notebook is None:
        raise ValueError(f"no submission {student}/{chapter}/{chapter}.ipynb in {submissions}: "
                         "check STUDENT and CHAPTER (the chapter's full id, e.g. 01_neural_network_basics)")
    save_override(root.resolve(), student, chapter, allow, item.sha256, by)
    return grade(submissions, root, course, replace(settings, only=(student, chapter)), out=out)


class ReleaseMismatch(RuntimeError):
    """The gradebook belongs to another release of the course."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade a folder of submissions.")
    parser.add_argument("submissions", type=Path, help="folder of <student>/<chapter>/<chapter>.ipynb")
    parser.add_argument("--out", type=Path, default=None,
                        help="course folder for the gradebook, feedback and CSVs (default: grading/)")
    parser.add_argument("--course", type=Path, default=None,
                        help="the course folder (default: found from the working directory)")
    parser.add_argument("--timeout", type=float, default=CELL_TIMEOUT_S,
                        help=f"seconds a cell may run (default {CELL_TIMEOUT_S})")
    parser.add_argument("--notebook-timeout", type=float, default=NOTEBOOK_TIMEOUT_S,
                        help=f"seconds a whole notebook may take (default {NOTEBOOK_TIMEOUT_S})")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler (default: a local cluster)")
    parser.add_argument("--workers", type=int, default=None,
                        help="local Dask workers (default: one per core; 0 grades in this process)")
    parser.add_argument("--memory", type=float, default=None, help="GiB a kernel may use (default 4)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code without bubblewrap (the summary then carries a warning)")
    parser.add_argument("--migrate", action="store_true",
                        help="accept a gradebook made from an earlier release and re-grade against this one")
    parser.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--allow", action="append", default=[], metavar="CELL",
                        help="with --student and --chapter: re-grade that submission with CELL (a grade "
                             "id) run as written, recorded as the instructor's decision (repeatable)")
    parser.add_argument("--student", default=None, help="with --allow: the student's id")
    parser.add_argument("--chapter", default=None, help="with --allow: the chapter's id")
    parser.add_argument("--by", default=None, help="with --allow: who decides (default: this user)")
    args = parser.parse_args(argv)
    together = [args.allow, args.student, args.chapter]
    if any(together) and not all(together):
        print("error: --allow, --student and --chapter go together, e.g. `make regrade STUDENT=ada "
              "CHAPTER=01_neural_network_basics ALLOW=sigmoid`.")
        return 2
    course = course_for_cli(args.course)
    if course is None:
        return 2
    if not args.submissions.is_dir():
        print(f"error: {args.submissions} is not a folder. Pass a folder holding "
              "<student>/<chapter>/<chapter>.ipynb, e.g. `make grade SUBMISSIONS=path/to/folder`.")
        return 2
    sandbox = not args.no_sandbox
    from autograder.instructor.grading.sandbox import refuse_without_sandbox

    if refuse_without_sandbox(sandbox):
        return 2
    limits = {}
    if args.memory:
        limits["memory_bytes"] = int(args.memory * 2**30)
    root = (args.out or course.grading).resolve()
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 PID`: every thread's stack on stderr (a grader that hangs)
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
    try:
        settings = GradeSettings(cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                                 scheduler=args.scheduler, workers=args.workers, sandbox=sandbox,
                                 migrate=args.migrate, feedback=not args.no_feedback, limits=limits,
                                 progress=not args.no_progress)
        if args.allow:
            records = regrade(args.submissions, root, course, settings, args.student, args.chapter,
                              args.allow, args.by)
        else:
            records = grade(args.submissions, root, course, settings)
    except (ReleaseMismatch, ValueError) as error:
        print(f"error: {error}")
        return 2
    except KeyboardInterrupt:
        faulthandler.dump_traceback_later(SLOW_CLOSE_S, file=sys.__stderr__)  # again, for the exit
        kept = len(list(root.glob("records/*/*.json")))
        print(f"\nInterrupted. {kept} graded notebooks are recorded in {root / 'records'}; "
              "run the same command again to grade the rest.")
        return 130
    if records:
        from autograder.instructor.classroom.export import export
        from autograder.instructor.grading.report import write_report  # matplotlib: only when needed

        export(root)
        print(f"Class report: {write_report(root)}")
        if not sandbox:
            print("\nWARNING: graded WITHOUT the sandbox (--no-sandbox): student code could read "
                  "and write anything this user can. Do not trust these grades for a class.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
