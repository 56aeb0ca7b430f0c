"""execute.py: a cell's output is capped as it arrives (issue #19: 1 GB of stdout peaked a Dask
worker at 3 GB), and a test cell still scores as it would have."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.hints import CHECK_MIMETYPE
from autograder.instructor.execute import RobustNotebookClient

REPO = Path(__file__).resolve().parents[2]


def message(msg_type: str, **content) -> dict:
    return {"msg_type": msg_type, "header": {"msg_type": msg_type}, "parent_header": {"msg_id": "run"},
            "content": content, "metadata": {}}


def client(cap: int | None) -> RobustNotebookClient:
    runner = RobustNotebookClient(nbformat.v4.new_notebook(), output_cap_bytes=cap)
    runner.reset_execution_trackers()  # as nbclient does before a run
    runner.clear_before_next_output = False  # and before each cell
    return runner


def test_past_the_cap_text_is_dropped_as_it_arrives_with_one_note_that_counts_it():
    runner, outs = client(100), []
    for _ in range(5):
        runner.output(outs, message("stream", name="stdout", text="x" * 60), None, 0)
    kept = "".join(o["text"] for o in outs if "output cut" not in o["text"])
    notes = [o for o in outs if "output cut" in o["text"]]
    assert kept == "x" * 100, f"the first 100 bytes are kept, got {len(kept)}"
    assert len(notes) == 1 and "200 more bytes" in notes[0]["text"], notes
    runner.output(outs, message("stream", name="stdout", text="y" * 10), None, 1)
    assert outs[-1]["text"] == "y" * 10, "the count is per cell: the next cell starts afresh"


def test_errors_hints_and_stderr_still_reach_the_verdict_past_the_cap():
    runner, outs = client(10), []
    runner.output(outs, message("stream", name="stdout", text="z" * 50), None, 0)
    runner.output(outs, message("stream", name="stderr", text="warning: " * 5), None, 0)
    runner.output(outs, message("display_data", data={CHECK_MIMETYPE: {"hint": "sign"}}, metadata={}),
                  None, 0)
    runner.output(outs, message("error", ename="AssertionError", evalue="f(2): expected 4",
                                traceback=[]), None, 0)
    kinds = [(o["output_type"], o.get("name")) for o in outs]
    assert ("stream", "stderr") in kinds, "stderr past the cap leaves a stderr note: the cell still fails"
    assert ("display_data", None) in kinds and ("error", None) in kinds, kinds


def test_without_a_cap_nothing_is_dropped():
    runner, outs = client(None), []
    for _ in range(3):
        runner.output(outs, message("stream", name="stdout", text="x" * 60), None, 0)
    assert sum(len(o["text"]) for o in outs) == 180


FLOOD = textwrap.dedent('''
    import json, resource, sys
    import nbformat
    from autograder.instructor.grading.policy import facts_from_source
    from autograder.instructor.grading.worker import GradingRelease, grade_task

    def cell(source, grade_id, **nbgrader):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, "locked": False, **nbgrader}
        return c

    megabytes = int(sys.argv[1])
    template = nbformat.v4.new_notebook()
    template.cells = [cell("def f(x):\\n    raise NotImplementedError()", "f", solution=True, grade=False),
                      cell("assert f(2) == 4", "f__tests", solution=False, grade=True, points=1)]
    submitted = nbformat.from_dict(template)
    submitted.cells[0].source = ("def f(x):\\n    return x * x\\n"
                                 f"for _ in range({megabytes}):\\n"
                                 "    print('x' * 2**20, flush=True)\\n")
    release = GradingRelease(chapter="00_demo", template=nbformat.writes(template),
                             policy=facts_from_source(template, 0).to_dict(),
                             sandbox=False, isolation="kernel", cell_timeout=240,
                             limits={"output_bytes": 2**20})
    task = {"student": "flood", "chapter": "00_demo", "notebook": nbformat.writes(submitted).encode()}
    result = grade_task(task, release)
    print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "status": result["record"]["status"],
                      "score": sum(t["score"] for t in result["record"]["tests"].values()),
                      "cut": "output cut while the cell ran" in (result["notebook"] or "")}))
''')


def flood(megabytes: int) -> dict:
    done = subprocess.run([sys.executable, "-c", FLOOD, str(megabytes)], capture_output=True, text=True,
                          cwd=REPO, timeout=600, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
                                                      "OMP_NUM_THREADS": "1", "HOME": "/tmp"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_cell_printing_far_past_the_cap_keeps_the_workers_memory_bounded_and_says_so():
    """The grading worker's peak memory (getrusage, in a process of its own) with 400 MB printed in
    one cell grows by less than half of that over the same notebook printing nothing; the cap is
    1 MiB. Measured here: +140 MB capped as it arrives (messages not yet read wait in ZeroMQ's
    queue), +415 MB when the whole output was kept and capped afterwards."""
    quiet, loud = flood(0), flood(400)
    grown_mb = (loud["peak_kib"] - quiet["peak_kib"]) / 1024
    assert grown_mb < 200, f"the worker grew by {grown_mb:.0f} MB while 400 MB were printed"
    assert (loud["status"], loud["score"]) == ("graded", 1.0), loud
    assert loud["cut"], "the graded notebook (and so the feedback) says the output was cut"
    assert not quiet["cut"], quiet


def test_the_note_survives_the_notebooks_own_cap():
    from autograder.instructor.grading.outputs import make_outputs_safe

    runner, outs = client(100), []
    for _ in range(3):
        runner.output(outs, message("stream", name="stdout", text="x" * 60), None, 0)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('x' * 60)")]
    nb.cells[0].outputs = outs
    make_outputs_safe(nb, max_bytes=100)
    assert "output cut while the cell ran: 80 more bytes" in outs[-1]["text"], outs
