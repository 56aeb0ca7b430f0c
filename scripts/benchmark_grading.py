"""Grade a synthetic class both ways and compare: plain serial `nbgrader autograde` against this pipeline.

    python scripts/benchmark_grading.py [--per-kind 1] [--timeout 10] [--workers N]
    python scripts/benchmark_grading.py --honest 8 [--chapter 01]    (make benchmark-grading-honest)
    python scripts/benchmark_grading.py --isolation kernel    (the one-kernel path, for comparison)

For every chapter the class holds, per kind, ``--per-kind`` submissions: a correct
one (the solution), a buggy one (one exercise back to its stub), a looping one (an
added cell that never ends) and an invalid one (broken JSON). The same folder is
graded three times, each into a fresh course folder, with the same per-cell timeout:

1. plain nbgrader: ``nbgrader autograde CHAPTER --force`` (one process per chapter,
   serial, no sandbox, no policy, no feedback);
2. this pipeline with the sandbox (``make grade``'s path, on a local Dask cluster);
3. this pipeline with ``--no-sandbox``.

``--honest N`` grades N correct notebooks of one chapter instead: the class an instructor hopes
for, where no timeout flatters parallel grading (a looping notebook costs plain nbgrader its
full timeout in series, and the pipeline the same timeout on one of several workers).

It prints notebooks per minute for each, the ratio of the pipeline's wall time to
plain nbgrader's, and an estimate for 1000 students x 6 chapters on 32 workers
from the measured cost per notebook. Numbers are written to build/benchmark-grading.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.instructor.authoring.release import make_course, nbgrader_env
from autograder.instructor.cells import is_solution, nbgrader_meta
from autograder.instructor.course import Course
from autograder.instructor.grading.coordinator import GradeSettings, grade


def stubbed(solution: nbformat.NotebookNode, student: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution with its last exercise back to the student's stub."""
    stubs = {nbgrader_meta(c).get("grade_id"): c.source for c in student.cells
             if is_solution(c) and c.cell_type == "code"}
    buggy = copy.deepcopy(solution)
    last = [c for c in buggy.cells if is_solution(c) and c.cell_type == "code"][-1]
    last.source = stubs[nbgrader_meta(last)["grade_id"]]
    return buggy


def synthetic_class(course: Course, out: Path, per_kind: int) -> int:
    count = 0
    for chapter in course.chapter_ids():
        solution = nbformat.read(str(course.solutions / chapter / f"{chapter}.ipynb"), as_version=4)
        student = nbformat.read(str(course.chapters / chapter / f"{chapter}.ipynb"), as_version=4)
        looping = copy.deepcopy(solution)
        looping.cells.append(nbformat.v4.new_code_cell("while True:\n    pass"))
        kinds = {"correct": solution, "buggy": stubbed(solution, student), "loop": looping}
        for n in range(per_kind):
            for kind, nb in kinds.items():
                folder = out / f"{kind}{n:03d}" / chapter
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, str(folder / f"{chapter}.ipynb"))
                count += 1
            folder = out / f"invalid{n:03d}" / chapter
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{chapter}.ipynb").write_text(nbformat.writes(solution)[:300])
            count += 1
    return count


def honest_class(course: Course, out: Path, count: int, chapter: str) -> int:
    """``count`` copies of the chapter's solution, each under its own student id."""
    solution = (course.solutions / chapter / f"{chapter}.ipynb").read_bytes()
    for n in range(count):
        folder = out / f"honest{n:03d}" / chapter
        folder.mkdir(parents=True)
        (folder / f"{chapter}.ipynb").write_bytes(solution)
    return count


def plain_nbgrader(course: Course, chapters: list[str], submissions: Path, root: Path, timeout: int) -> float:
    make_course(root, chapters, course.solutions, cell_timeout=timeout)
    shutil.copytree(submissions, root / "submitted")
    started = time.perf_counter()
    for chapter in chapters:
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", chapter, "--force"],
                       cwd=root, env=nbgrader_env(), capture_output=True, check=False)
    return time.perf_counter() - started


def pipeline(course: Course, submissions: Path, root: Path, timeout: int, workers: int | None,
             sandbox: bool, isolation: str | None = None) -> tuple[float, list[str]]:
    """The pipeline's wall time, and what it got wrong: a correct notebook (the solution) below full
    marks. A faster grade that is wrong is no faster: the benchmark fails on it."""
    started = time.perf_counter()
    settings = GradeSettings(cell_timeout=timeout, workers=workers, sandbox=sandbox, progress=False,
                             isolation=isolation)
    records = grade(submissions, root, course, settings, out=lambda *_: None)
    seconds = time.perf_counter() - started
    wrong = [f"{r.student}/{r.chapter}: {r.status}, {r.code_score:g} of {r.max_code_score:g} "
             f"({', '.join(t for t, v in r.tests.items() if v['score'] < v['points'])})"
             for r in records if r.student.startswith(("correct", "honest"))
             and (r.status != "graded" or r.code_score < r.max_code_score)]
    return seconds, wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-kind", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=10, help="seconds a cell may run (both ways)")
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--honest", type=int, default=0, metavar="N",
                        help="grade N correct notebooks of one chapter instead of the mixed class")
    parser.add_argument("--chapter", default="01", help="with --honest: the chapter (number or id)")
    parser.add_argument("--isolation", choices=("two-process", "kernel"), default=None,
                        help="the pipeline's grading (default: make grade's, two-process; kernel: the "
                        "one-kernel path, where the student's code can reach the verdict)")
    args = parser.parse_args(argv)
    course = Course.find()
    chapters = course.chapter_ids()
    if args.honest:
        matches = [c for c in chapters if c == args.chapter or c.startswith(args.chapter + "_")]
        if len(matches) != 1:
            parser.error(f"--chapter {args.chapter!r}: expected one of {', '.join(chapters)}")
        chapters = matches
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as scratch:
        base = Path(scratch)
        if args.honest:
            n = honest_class(course, base / "submissions", args.honest, chapters[0])
            print(f"{n} correct notebooks of {chapters[0]}, cell timeout {args.timeout} s, "
                  f"{os.cpu_count()} cores", flush=True)
        else:
            n = synthetic_class(course, base / "submissions", args.per_kind)
            print(f"{n} notebooks ({len(course.chapter_ids())} chapters x 4 kinds x {args.per_kind}), "
                  f"cell timeout {args.timeout} s, {os.cpu_count()} cores", flush=True)
        plain = plain_nbgrader(course, chapters, base / "submissions", base / "plain", args.timeout)
        times = {"plain nbgrader (serial)": plain}
        print(f"  plain nbgrader: {times['plain nbgrader (serial)']:.0f} s", flush=True)
        wrong: list[str] = []
        for label, sandbox in (("pipeline, sandboxed", True), ("pipeline, no sandbox", False)):
            times[label], its_wrong = pipeline(course, base / "submissions", base / label.replace(" ", "_"),
                                               args.timeout, args.workers, sandbox, args.isolation)
            wrong += [f"{label}: {line}" for line in its_wrong]
            print(f"  {label}: {times[label]:.0f} s", flush=True)
    plain = times["plain nbgrader (serial)"]
    workers = args.workers or os.cpu_count() or 1
    print(f"\n{'how':28} {'wall s':>7} {'notebooks/min':>14} {'x plain':>8}")
    for label, seconds in times.items():
        print(f"{label:28} {seconds:7.0f} {60 * n / seconds:14.1f} {seconds / plain:8.2f}")
    per_notebook = times["pipeline, sandboxed"] * workers / n  # one worker's seconds per notebook
    estimate_h = 1000 * 6 * per_notebook / 32 / 3600
    print(f"plain nbgrader: {times['plain nbgrader (serial)'] / n:.1f} s per notebook (one process)")
    print(f"\nmeasured cost per notebook on one worker (sandboxed, this mix): {per_notebook:.1f} s; "
          f"1000 students x 6 chapters on 32 workers: about {estimate_h:.1f} h")
    name = ("benchmark-grading-honest" if args.honest else "benchmark-grading") + (
        "-kernel" if args.isolation == "kernel" else "") + ".json"
    out = course.root / "build" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"notebooks": n, "honest": bool(args.honest), "timeout": args.timeout,
                               "isolation": args.isolation or "two-process",
                               "workers": workers,
                               "seconds": times, "per_notebook_s": per_notebook,
                               "estimate_1000x6_on_32_workers_h": estimate_h, "wrong": wrong}, indent=1))
    if wrong:
        print("\nNOT A VALID MEASUREMENT: correct notebooks lost points (a time limit too short for "
              "the round trips?):\n  " + "\n  ".join(wrong))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
