"""Time every solution notebook, and its slowest test cell, and print a Markdown table.

    make benchmark        (or: python scripts/benchmark.py [notebooks...])

The course promises: visible checks answer in about a second; chapters 1-3 execute
in under 30 s, 4-5 under 60 s, 6 under 90 s (on 2 cores); "Check my work" (`make check`)
answers chapter 1 in under 10 s once its grading release is cached. Timed tests would be
flaky on a loaded machine, so the numbers are measured here and recorded in docs/SPEED.md.
Nothing is written back to the notebooks.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat

from autograder.instructor.execute import RobustNotebookClient

REPO = Path(__file__).resolve().parents[1]
LIMITS_S = {"01": 30, "02": 30, "03": 30, "04": 60, "05": 60, "06": 90}
PEAK_MEMORY_CELL = "import resource as _r; print('PEAK_RSS_KB', _r.getrusage(_r.RUSAGE_SELF).ru_maxrss)"


def seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def measure(path: Path) -> dict:
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_MEMORY_CELL))
    client = RobustNotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()
    total = time.perf_counter() - started
    tests = [(seconds(c), c.metadata["nbgrader"]["grade_id"]) for c in nb.cells
             if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    peak_kb = int(next(o["text"].split()[1] for o in nb.cells[-1].outputs
                       if "PEAK_RSS_KB" in o.get("text", "")))
    slowest = max(tests) if tests else (0.0, "-")
    return {"total": total, "slowest": slowest, "tests": len(tests), "peak_mb": peak_kb / 1024}


def self_check_seconds(path: Path) -> tuple[float, float]:
    """``make check`` on a complete notebook: (first run, building the release cache; next run)."""
    times = []
    for _ in range(2):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "autograder.instructor.grading.selfcheck", str(path),
                        "--no-model-answers"], cwd=REPO, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((REPO / "solutions").glob("*/*.ipynb"))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")
    print("| chapter | executes in | limit | slowest test cell | test cells | kernel peak memory |")
    print("|---|---|---|---|---|---|")
    for path in notebooks:
        result = measure(path)
        chapter = path.stem
        limit = LIMITS_S.get(chapter[:2], 0)
        flag = "" if not limit or result["total"] <= limit else " (over!)"
        cell_time, cell = result["slowest"]
        print(f"| {chapter} | {result['total']:.1f} s{flag} | {limit} s | {cell_time:.2f} s "
              f"(`{cell}`) | {result['tests']} | {result['peak_mb']:.0f} MB |", flush=True)
    print("\n| chapter | make check, first run (builds the cached release) | make check, next runs |")
    print("|---|---|---|")
    for path in notebooks:
        first, warm = self_check_seconds(path)
        print(f"| {path.stem} | {first:.1f} s | {warm:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
