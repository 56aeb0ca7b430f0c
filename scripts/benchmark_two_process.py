"""Time one chapter graded two-process, and count the frames that cross between T and S.

    python scripts/benchmark_two_process.py 06_whats_next [--corpus tests/fixtures/corpus/06_whats_next/x.py]
    python scripts/benchmark_two_process.py 06_whats_next --notebook submitted.ipynb

Grades the chapter's solution (or a corpus entry, or any notebook of the chapter: the untouched
student version, a learner's) through the worker (``grade_task``), as ``make grade`` does, and
prints the notebook's wall time, the frames the broker relayed each way (a round trip is one
request and its reply), S's restarts, and the slowest cells with their times.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.instructor.grading import broker as broker_module  # noqa: E402
from autograder.instructor.grading.protocol import HEADER, REQUEST  # noqa: E402
from autograder.instructor.grading.sandbox import bwrap_problem  # noqa: E402
from autograder.instructor.grading.selfcheck import release_for  # noqa: E402
from autograder.instructor.grading.worker import grade_task  # noqa: E402
from tests.chapters import COURSE, read, source_path  # noqa: E402

COUNTS = {"t_frames": 0, "s_frames": 0, "s_requests": 0}


def count_frames() -> None:
    """Wrap the broker's frame handlers (the broker is a thread of this process)."""
    from_t, from_s = broker_module.Broker._to_s, broker_module.Broker._frames_from_s

    def to_s(self, frame: bytes) -> None:
        COUNTS["t_frames"] += 1
        from_t(self, frame)

    def frames_from_s(self) -> None:
        buffer, offset = self.s_buffer, 0  # the complete frames this call will relay
        while len(buffer) - offset >= HEADER.size:
            length, kind, _, _ = HEADER.unpack_from(buffer, offset)
            if len(buffer) - offset < HEADER.size + length:
                break
            COUNTS["s_frames"] += 1
            COUNTS["s_requests"] += kind == REQUEST
            offset += HEADER.size + length
        from_s(self)

    broker_module.Broker._to_s = to_s
    broker_module.Broker._frames_from_s = frames_from_s


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return 0.0
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("chapter")
    parser.add_argument("--corpus", type=Path, help="a corpus entry (tests/fixtures/corpus/...) instead")
    parser.add_argument("--notebook", type=Path, help="a notebook of the chapter (a student's) instead")
    parser.add_argument("--isolation", default="two-process")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--timeout", type=float, help="seconds a cell (and one call into S) may run, as "
                        "make grade's --timeout (default: the release's)")
    parser.add_argument("--no-figures", action="store_true",
                        help="draw no figure, as make check (GradingRelease.figures=False)")
    parser.add_argument("--save", type=Path, help="write the graded notebook here (what each cell showed)")
    options = parser.parse_args(argv)
    count_frames()
    if options.corpus is not None:
        from tests.instructor.grading.test_corpus import learner_notebook

        notebook = learner_notebook(options.corpus)
    elif options.notebook is not None:
        notebook = read(options.notebook)
    else:
        notebook = read(source_path(options.chapter))
    release = release_for(COURSE, options.chapter, sandbox=bwrap_problem() is None,
                          isolation=options.isolation)
    if options.no_figures:
        release = dataclasses.replace(release, figures=False)
    if options.timeout is not None:
        release = dataclasses.replace(release, cell_timeout=options.timeout, call_timeout=options.timeout)
    task = {"student": "bench", "chapter": options.chapter, "notebook": nbformat.writes(notebook).encode()}
    started = time.perf_counter()
    result = grade_task(task, release)
    seconds = time.perf_counter() - started
    record = result["record"]
    graded = nbformat.reads(result["notebook"], as_version=4)
    if options.save is not None:
        nbformat.write(graded, str(options.save))
    cells = sorted(((cell_seconds(c), c.metadata.get("nbgrader", {}).get("grade_id") or c.source[:40])
                    for c in graded.cells if c.cell_type == "code"), reverse=True)
    lost = {k: t["message"][:200] for k, t in record["tests"].items() if t["score"] < t["points"]}
    print(json.dumps({"status": record["status"], "reason": record["reason"], "seconds": round(seconds, 1),
                      "round_trips": COUNTS["t_frames"],  # each request of either side, answered
                      "frames_t_to_s": COUNTS["t_frames"], "frames_s_to_t": COUNTS["s_frames"],
                      "callbacks_s_to_t": COUNTS["s_requests"],
                      "restarts": record.get("student_restarts"), "lost": lost,
                      "slowest_cells": [[round(s, 2), str(name).replace("\n", " ")] for s, name in
                                        cells[:options.top]]}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
