"""Grade ONE notebook into a result record: pure, with no gradebook and no repository.

A Dask task (``make grade``) and the learner's ``make check`` both call
``grade_task(task, release)``. Everything it needs comes in as plain data:

- ``release`` (one per chapter, see ``GradingRelease``): the grading template
  (the student version with every test cell's full source, hidden tests
  included), the code-policy facts, the time limits and the sandbox limits;
- ``task``: the student, the chapter, the submission's bytes and what the
  coordinator found while staging it (a symlink, a missing notebook...).

The steps:

1. parse the submission; broken JSON or an invalid notebook gives status "invalid";
2. ``merge``: the notebook that runs is the template, cell by cell, with only the
   student's answers taken from the submission (solution cells by grade_id, their
   versions of the instructor's plain cells by cell id, and cells they added, in
   place). Their copies of locked and test cells are never used, so a test can be
   neither edited nor deleted;
3. two-process grading (the default): the code policy (``policy.py``) only advises; the
   template's cells run in a sandboxed kernel T, the student's in S (``execute_two_process``),
   and a call into S past its limit fails alone while the rest goes on. One-kernel grading:
   the policy refuses a violating cell first (an answer runs its stub, an added cell not at
   all), and the first cell past its time limit ends the run (the kernel is killed);
4. either way with a per-cell and a per-notebook time limit (``sandbox.py``);
5. outputs are made safe to show (HTML, JavaScript and the like become text) and
   capped in bytes; each test cell is scored with nbgrader's own rule
   (``nbgrader.utils.determine_grade``).

The record (``Record.to_dict``) is plain JSON-ready data; the autograded notebook
travels beside it as a string.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.i18n import submission_language
from autograder.instructor import cells
from autograder.instructor.cells import (
    cell_label,
    is_answer,
    is_plain,
    is_solution,
    is_test,
    nbgrader_meta,
    sha256,
)
from autograder.instructor.grading.outputs import (
    cell_seconds,
    make_outputs_safe,
    take_check_hints,
    test_message,
)
from autograder.instructor.grading.records import Record

NOT_RUN_NOTE = "# (not run at grading: {reason})"
ISOLATIONS = ("kernel", "two-process")
MAX_FRAME_BYTES = 256 * 2**20  # the largest message between T and S
ADVICE_MAX_CHARS = 500_000  # the code policy's advice stops here: it runs before any time limit
# two-process: T's per-cell limit is this many times the release's. Measured under load: chapter 6's
# capstone demo (20 epochs through the student's layers, ~30 round trips a batch) ran past 4 x 30 s.
T_CELL_FACTOR = 10


def default_isolation() -> str:
    """The isolation a release gets unless it names one: BACKPROP_LAB_ISOLATION, else "two-process".

    "kernel" (one sandboxed kernel, the code policy as the wall) remains for comparison and for a
    machine without bubblewrap's user namespaces; it is the path issue #18's red team broke.
    Chapter 6 once took 800 s a notebook two-process (the demos trained the student's layers from
    T, 70,000+ round trips); its demos now run in S (placement.demo_cells): about 50 s.
    """
    import os

    return os.environ.get("BACKPROP_LAB_ISOLATION", "two-process")


@dataclass
class GradingRelease:
    """What a worker needs to grade one chapter: plain data, shippable to any host."""

    chapter: str
    template: str  # the grading template notebook, as JSON text (hidden tests included)
    policy: dict[str, Any]  # PolicyFacts.to_dict()
    cell_timeout: float = 30.0
    notebook_timeout: float = 900.0
    limits: dict[str, Any] = field(default_factory=dict)  # sandbox.Limits fields
    sandbox: bool = True
    release_sha256: str = ""
    # "two-process" (the default): the student's cells (and the demos S can run) in S, the verdict
    # in T (see proxy.py); the code policy is advice. "kernel": every cell in one sandboxed kernel;
    # the policy zeroes what it refuses.
    isolation: str = field(default_factory=lambda: default_isolation())
    # two-process: the limit of one call into S (a cell, a function), S's own time only. Measured:
    # chapter 5's random_search test calls back into T 3000 times in one call, 3 to 10 s of S's.
    call_timeout: float = 30.0
    figures: bool = True  # False: the kernel draws none (make check's table; see Sandbox)

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}, got {self.isolation!r}")
        if not self.release_sha256:
            extra = [] if self.isolation == "kernel" else [self.isolation, self.call_timeout]
            self.release_sha256 = sha256(json.dumps(
                [self.template, self.policy, self.cell_timeout, self.notebook_timeout,
                 self.limits, *extra], sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- 2. merge -------------------------------------------------------------------------------

def merge(template: NotebookNode, submitted: NotebookNode) -> tuple[NotebookNode, set[int]]:
    """The notebook to run, and the indices (in it) of the cells the student wrote.

    Solution cells are matched by grade_id, the instructor's plain cells by cell id;
    a submitted cell that matches nothing (forged nbgrader metadata included), or a second copy
    of an answer cell (JupyterLab's copy keeps its metadata), is one the student added: it keeps
    its place after the template cell it followed, without the metadata, and runs there as in
    JupyterLab. Every other template cell (setup, tests, locked cells) is the template's own,
    whatever the submission holds.
    """
    by_grade_id = {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(template.cells)
                   if is_solution(c) and nbgrader_meta(c).get("grade_id")}
    plain_by_id = {c.get("id"): i for i, c in enumerate(template.cells) if is_plain(c) and c.get("id")}
    known_ids = {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(template.cells)
                 if nbgrader_meta(c).get("grade_id")}
    replaced: dict[int, NotebookNode] = {}
    added_after: dict[int, list[NotebookNode]] = {}
    anchor = -1
    for cell in submitted.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        answer = by_grade_id.get(grade_id, -1) if type(grade_id) is str else -1
        if answer >= 0 and cell.cell_type == template.cells[answer].cell_type and answer not in replaced:
            anchor = answer
            replaced[anchor] = cell
        elif answer < 0 and type(grade_id) is str and grade_id in known_ids:  # a locked or test cell:
            anchor = known_ids[grade_id]  # the template's copy is used
        elif (cell.get("id") in plain_by_id
              and cell.cell_type == template.cells[plain_by_id[cell.id]].cell_type):
            anchor = plain_by_id[cell.id]
            if anchor not in replaced:
                replaced[anchor] = cell
        else:
            added = copy.deepcopy(cell)
            added.get("metadata", {}).pop("nbgrader", None)
            added_after.setdefault(anchor, []).append(added)
    merged = nbformat.v4.new_notebook(metadata=copy.deepcopy(template.metadata))
    student_written: set[int] = set()

    def emit(cell: NotebookNode, by_student: bool) -> None:
        if by_student:
            student_written.add(len(merged.cells))
        merged.cells.append(cell)

    for cell in added_after.get(-1, []):
        emit(cell, True)
    for index, cell in enumerate(template.cells):
        own = copy.deepcopy(cell)
        if index in replaced:
            theirs = replaced[index]
            if theirs.source != cell.source:
                own.source = theirs.source
                emit(own, True)
            else:
                emit(own, False)
        else:
            emit(own, False)
        for added in added_after.get(index, []):
            emit(added, True)
    for cell in merged.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return merged, student_written


# -- 3. policy ------------------------------------------------------------------------------

def apply_policy(nb: NotebookNode, student_written: set[int], template: NotebookNode,
                 facts: Any, allowed: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Check the student's code cells; neutralise the ones that break the policy (in place), except
    those the instructor ``allowed`` (overrides.py): what it finds there is left to the caller."""
    from autograder.instructor.grading.policy import check_cell

    stubs = {nbgrader_meta(c).get("grade_id"): c.source for c in template.cells if is_solution(c)}
    found = []
    for index in sorted(student_written):
        cell = nb.cells[index]
        if cell.cell_type != "code":
            continue
        label = nbgrader_meta(cell).get("grade_id") or f"cell {index}"
        violations = check_cell(cell.source, facts, cell=label)
        if not violations:
            continue
        found += [asdict(v) for v in violations]
        if label in allowed:  # the instructor read it and decided: it runs as written
            continue
        first = violations[0]
        reason = f"{first.construct} on line {first.line}: {first.message}"
        note = NOT_RUN_NOTE.format(reason=reason.replace("\n", " "))
        grade_id = nbgrader_meta(cell).get("grade_id")
        # The student's code stays on the page, commented out, for the instructor and the student.
        theirs = "".join(f"\n#     {line}" for line in cell.source.splitlines())
        cell.source = (f"{note}\n# Your code, as you wrote it (not run):{theirs}"
                       + ("\n" + stubs[grade_id] if grade_id in stubs else ""))
    return found


def advise(nb: NotebookNode, student_written: set[int], facts: Any) -> list[dict[str, Any]]:
    """The code policy as advice (two-process grading): what it finds, the notebook unchanged.

    The student's cells are checked together, as the notebook runs them, so a helper or a base
    class from another cell is known.
    """
    from autograder.instructor.grading.policy import check_cells

    cells = [(nbgrader_meta(nb.cells[i]).get("grade_id") or f"cell {i}", nb.cells[i].source)
             for i in sorted(student_written) if nb.cells[i].cell_type == "code"]
    if sum(len(source) for _, source in cells) > ADVICE_MAX_CHARS:  # it reads about 0.2 ms a line
        return [{"cell": "", "line": 0, "construct": "policy", "message": "not checked: too much code"}]
    try:
        return [asdict(v) for v in check_cells(cells, facts)]
    except Exception as error:  # advice must never cost a grade
        return [{"cell": "", "line": 0, "construct": "policy",
                 "message": f"the policy failed: {type(error).__name__}: {error}"}]


# -- 4. execution ---------------------------------------------------------------------------

class Timeout(Exception):
    """A cell, or the whole notebook, ran out of time."""


def execute(nb: NotebookNode, release: GradingRelease, scratch: Path,
            allowed: frozenset[str] = frozenset()) -> tuple[str, str]:
    """Run every cell in a (sandboxed) kernel; ``(status, reason)``."""
    from autograder.instructor.grading.sandbox import Limits, Sandbox

    with Sandbox(scratch=scratch, limits=Limits(**release.limits), enabled=release.sandbox,
                 figures=release.figures) as sandbox:
        return run_cells(nb, release, sandbox, allowed=allowed)


def run_cells(nb: NotebookNode, release: GradingRelease, sandbox: Any,
              index_offset: int = 0, interrupt: bool = False,
              allowed: frozenset[str] = frozenset()) -> tuple[str, str]:
    """Run ``nb`` in the sandbox's kernel; a cell's label counts from ``index_offset``.

    interrupt: a cell past its limit is interrupted and fails alone, the others run on. Only
    for a kernel that runs trusted code (two-process grading's T): student code could ignore
    the interrupt, so the one-kernel path kills the kernel and ends the run instead.
    allowed: cells (grade ids) the instructor let run past the per-cell limit (overrides.py);
    the notebook's own limit still holds.
    """
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from autograder.instructor.execute import RobustNotebookClient

    deadline = time.monotonic() + release.notebook_timeout
    limits = sandbox.limits
    scratch = sandbox.scratch
    client = RobustNotebookClient(
        nb, km=sandbox.kernel_manager(), timeout=int(release.cell_timeout), allow_errors=True,
        interrupt_on_timeout=interrupt, record_timing=True, startup_timeout=120,  # seconds per test
        error_on_timeout={"ename": "NotFinished", "evalue": "This cell ran past its time limit and was "
                          "interrupted.", "traceback": []} if interrupt else None,
        shutdown_kernel="immediate",  # the sandbox ends; nothing to save
        output_cap_bytes=limits.output_bytes,  # capped as it arrives: a flood never sits in memory
        resources={"metadata": {"path": str(scratch)}})
    try:
        # cleanup_kc: else nbclient leaves each notebook's client channels (about 12 descriptors) behind,
        # since it did not make the manager (test_a_process_that_runs_many_notebooks_keeps_no_thread...).
        with client.setup_kernel(cleanup_kc=True):
            for position, cell in enumerate(nb.cells):
                index = position + index_offset
                if cell.cell_type != "code":
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout", (f"the notebook ran past its {release.notebook_timeout:g} s "
                                       f"limit before {cell_label(cell, index)}")
                allowed_here = nbgrader_meta(cell).get("grade_id") in allowed
                cell_limit = remaining if allowed_here else release.cell_timeout
                per_notebook = remaining < cell_limit
                client.timeout = max(1, int(min(cell_limit, remaining)))
                try:
                    client.execute_cell(cell, position)
                except CellTimeoutError:
                    mark_not_finished(cell, "ran out of time")
                    if per_notebook:
                        return "timeout", (f"the notebook ran past its {release.notebook_timeout:g} s "
                                           f"limit in {cell_label(cell, index)}")
                    return "timeout", (f"{cell_label(cell, index)} ran past the "
                                       f"{release.cell_timeout:g} s per-cell limit (an infinite loop?)")
                except DeadKernelError:
                    mark_not_finished(cell, "the kernel died")
                    return "error", (f"the kernel died in {cell_label(cell, index)} (out of memory? the "
                                     f"limit is {limits.memory_bytes / 2**30:g} GiB)")
    except RuntimeError as error:  # the kernel did not start
        return "error", f"the grading kernel did not start: {error}"
    return "graded", ""


BOOT_CELL = ("from autograder.instructor.grading.proxy import start_bridge as _start_bridge\n"
             "__bridge__ = _start_bridge({socket!r}, {cells!r}, {call_timeout!r}, {max_frame!r})\n"
             "del _start_bridge")


def execute_two_process(nb: NotebookNode, template: NotebookNode, student_written: set[int],
                        release: GradingRelease, allowed: frozenset = frozenset()) -> tuple[str, str, int]:
    """Run the template's cells in T and the student's in S; ``(status, reason, S restarts)``.

    T's notebook is ``nb`` with a first cell that starts the bridge, and each student cell's
    source replaced by ``__bridge__.run_cell(i)``; the sources are put back afterwards, so the
    feedback shows the student's code with the outputs S gave it.
    """
    from autograder.instructor.grading.broker import Broker
    from autograder.instructor.grading.placement import demo_cells
    from autograder.instructor.grading.sandbox import Limits
    from autograder.instructor.grading.student_cells import cells_file, student_cells
    from autograder.instructor.grading.student_sandbox import StudentFolders, student_command
    from autograder.instructor.grading.warm_kernels import WarmSandbox, preloads

    limits = Limits(**release.limits)
    indices = student_cells(nb, student_written)
    chapter_number = int(release.chapter[:2]) if release.chapter[:2].isdigit() else 0
    with tempfile.TemporaryDirectory(prefix="backprop-s-") as s_root, \
            WarmSandbox(limits=limits, enabled=release.sandbox, figures=release.figures,
                        preload=preloads(template)) as sandbox:
        Path(s_root).chmod(0o755)
        folders = StudentFolders.create(Path(s_root) / "s", chapter_number)
        run_dir = sandbox.run_dir
        cells_path = run_dir / "cells.json"
        placement = demo_cells(template, nb, student_written, chapter_number)
        # A cell the instructor allowed (overrides.py) may take the notebook's time in S too.
        lifted = {index: float(release.notebook_timeout) for index in indices
                  if nbgrader_meta(nb.cells[index]).get("grade_id") in allowed}
        cells_path.write_text(json.dumps(cells_file(template, nb, indices, placement,
                                                    demo_limit=float(release.cell_timeout), allowed=lifted)))
        cells_path.chmod(0o644)
        socket_path = run_dir / "bridge.sock"

        def command(generation: int) -> list[str]:
            return student_command(folders, limits, enabled=release.sandbox, generation=generation,
                                   max_frame=MAX_FRAME_BYTES, figures=release.figures)

        originals = {index: nb.cells[index].source
                     for index in [*indices, *placement.in_s, *placement.also_in_s]}
        boot = nbformat.v4.new_code_cell(BOOT_CELL.format(
            socket=str(socket_path), cells=str(cells_path), call_timeout=float(release.call_timeout),
            max_frame=MAX_FRAME_BYTES))
        for index in [*indices, *placement.in_s]:
            nb.cells[index].source = f"__bridge__.run_cell({index})"
        for index in placement.also_in_s:
            nb.cells[index].source = f"__bridge__.define_in_s({index})\n{originals[index]}"
        run_nb = nbformat.v4.new_notebook(metadata=nb.metadata)
        run_nb.cells = [boot, *nb.cells]
        try:
            with Broker(socket_path, command, max_frame=MAX_FRAME_BYTES,
                        log=Path(s_root) / "student-stderr.log") as broker:
                # A test cell's time now includes every round trip to S (about 0.5 ms each: a
                # micrograd test makes tens of thousands), while a loop in student code is stopped
                # by its call's own limit: the per-cell limit is only T's backstop.
                relaxed = dataclasses.replace(release, cell_timeout=release.cell_timeout * T_CELL_FACTOR)
                status, reason = run_cells(run_nb, relaxed, sandbox, index_offset=-1, interrupt=True,
                                           allowed=allowed)
                restarts = max(0, broker.restarts - 1)
        finally:
            for index, source in originals.items():
                nb.cells[index].source = source
        boot_error = next((o for o in boot.get("outputs", []) if o.get("output_type") == "error"), None)
        if status == "graded" and boot_error is not None:
            log = (Path(s_root) / "student-stderr.log")
            said = log.read_text(errors="replace")[-500:] if log.exists() else ""
            return "error", (f"the student's process did not start: {boot_error.get('ename')}: "
                             f"{boot_error.get('evalue')} {said}".strip()), restarts
        return status, reason, restarts


def mark_not_finished(cell: NotebookNode, why: str) -> None:
    cell.outputs.append(nbformat.v4.new_output(
        "error", ename="NotFinished", evalue=f"This cell did not finish: {why}.", traceback=[]))


# -- 5. scores ----------------------------------------------------------------------------

def score(nb: NotebookNode, record: Record, hints: dict[str, str] | None = None) -> None:
    """Each test cell scored by nbgrader's own rule, with its message and hint code when it failed."""
    determine_grade = cells.nbgrader_utils().determine_grade  # nbgrader's rule, without its package
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if is_test(cell):
            got, points = determine_grade(cell)
            failed = (got or 0) < points
            record.tests[meta["grade_id"]] = {"points": points, "score": float(got or 0.0),
                                              "message": test_message(cell) if failed else ""}
            seconds = cell_seconds(cell)
            if seconds is not None:  # the class report's grader time per exercise
                record.tests[meta["grade_id"]]["seconds"] = seconds
            if failed and (hints or {}).get(meta["grade_id"]):
                record.tests[meta["grade_id"]]["hint"] = hints[meta["grade_id"]]
        elif is_answer(cell):
            record.answers[meta["grade_id"]] = {"points": float(meta.get("points", 0)),
                                                "text_sha256": sha256(cell.source)}


def zero_scores(template: NotebookNode, record: Record) -> None:
    """Every test and answer at zero (an invalid notebook, a timeout, a crash)."""
    for cell in template.cells:
        meta = nbgrader_meta(cell)
        if is_test(cell):
            entry = record.tests.setdefault(meta["grade_id"], {"points": float(meta.get("points", 0)),
                                                                "message": ""})
            entry["score"] = 0.0
        elif is_answer(cell):
            record.answers.setdefault(meta["grade_id"], {"points": float(meta.get("points", 0)),
                                                         "text_sha256": ""})


# -- the task -------------------------------------------------------------------------------

def parse_submission(data: bytes, name: str) -> tuple[NotebookNode | None, str]:
    try:
        json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        return None, f"{name} is not UTF-8 text ({error.reason})"
    except json.JSONDecodeError as error:
        return None, (f"{name} is not valid JSON (line {error.lineno}, column {error.colno}: "
                      f"{error.msg}); was it edited outside Jupyter?")
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # nbformat's ValidationError, NBFormatError, ...
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return None, f"{name} is not a valid notebook: {first}"
    return nb, ""


def grade_task(task: dict[str, Any], release: GradingRelease | dict[str, Any]) -> dict[str, Any]:
    """Grade one submission; ``{"record": Record.to_dict(), "notebook": JSON text or None}``."""
    started = time.perf_counter()
    if isinstance(release, dict):
        release = GradingRelease(**release)
    record = Record(task["student"], task["chapter"], submission_sha256=task.get("submission_sha256", ""),
                    release_sha256=release.release_sha256, sandboxed=release.sandbox,
                    ignored_files=list(task.get("ignored_files", [])))
    template = nbformat.reads(release.template, as_version=4)
    notebook_text = None
    if task.get("problem"):
        record.status, record.reason = task.get("problem_status", "invalid"), task["problem"]
    else:
        submitted, problem = parse_submission(task["notebook"], f"{task['chapter']}.ipynb")
        if submitted is None:
            record.status, record.reason = "invalid", problem
        else:
            from autograder.instructor.grading.policy import PolicyFacts

            merged, student_written = merge(template, submitted)
            facts = PolicyFacts.from_dict(release.policy)
            record.isolation = release.isolation
            allowed = frozenset(task.get("allow") or ())  # the instructor's decision (overrides.py)
            speaking = submission_language(submitted.metadata, merged.metadata)  # and its feedback page's
            from autograder.instructor.grading.placement import timings_not_run

            with speaking, timings_not_run(merged, student_written):
                if release.isolation == "two-process":  # T's folders are its warm parent's
                    record.advice = advise(merged, student_written, facts)
                    record.status, record.reason, record.student_restarts = execute_two_process(
                        merged, template, student_written, release, allowed)
                else:
                    found = apply_policy(merged, student_written, template, facts, allowed)
                    record.policy = [v for v in found if v.get("cell") not in allowed]
                    record.advice = [v for v in found if v.get("cell") in allowed]
                    with tempfile.TemporaryDirectory(prefix="backprop-scratch-") as scratch:
                        Path(scratch).chmod(0o777)  # the sandbox's user (65534) writes here
                        record.status, record.reason = execute(merged, release, Path(scratch), allowed)
            from autograder.instructor.grading.sandbox import Limits

            # Verdicts and messages are read before the outputs are capped: a flood of printing
            # must not cut a test's message.
            hints = take_check_hints(merged)
            score(merged, record, hints)
            make_outputs_safe(merged, Limits(**release.limits).output_bytes, student_written)
            notebook_text = nbformat.writes(merged)
    if record.status != "graded":
        zero_scores(template, record)
    record.seconds = round(time.perf_counter() - started, 2)
    return {"record": record.to_dict(), "notebook": notebook_text}
