"""What the grading sandbox costs per kernel: start, first imports and shutdown, with and without bwrap.

    python scripts/benchmark_sandbox.py [--runs 5]

Three kernels, started in turn so that the machine's load falls on each alike:
- stock: jupyter_client's own ipykernel (the kernel `make execute` uses);
- plain: ``Sandbox(enabled=False)``, the --no-sandbox path (limits and environment, no namespaces);
- sandbox: ``Sandbox()``, the kernel in bubblewrap.
Prints the median seconds of each step as a Markdown table. Timed tests would be flaky, so the
numbers are measured here and recorded in the README.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from autograder.instructor.grading.sandbox import Sandbox, bwrap_problem

IMPORTS = "import numpy, torch, matplotlib.pyplot"
CPU_SO_FAR = ("import resource; _r = resource.getrusage(resource.RUSAGE_SELF); "
              "print(_r.ru_utime + _r.ru_stime)")


async def one_kernel(km: AsyncKernelManager) -> dict[str, float]:
    """Seconds to a first reply, to the course's imports, and to a dead kernel."""
    times = {}
    start = time.perf_counter()
    await km.start_kernel()
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=120)
        await client.execute_interactive("pass", timeout=120)
        times["start"] = time.perf_counter() - start
        mark = time.perf_counter()
        await client.execute_interactive(IMPORTS, timeout=120)
        times["imports"] = time.perf_counter() - mark
        said: list[str] = []
        await client.execute_interactive(
            CPU_SO_FAR, timeout=120,
            output_hook=lambda msg: said.append(msg["content"].get("text", "")))
        times["kernel CPU"] = float("".join(said))
    finally:
        client.stop_channels()
        mark = time.perf_counter()
        await km.shutdown_kernel()
        times["shutdown"] = time.perf_counter() - mark
    return times


def launch_overhead(runs: int) -> float:
    """Mean wall seconds that bwrap adds to starting a process (``python -I -S -c pass``).

    Wall only: bwrap's PID 1 does not pass its children's CPU time up, so RUSAGE_CHILDREN would
    undercount the sandboxed run.
    """
    probe = [sys.executable, "-I", "-S", "-c", "pass"]
    extra = 0.0
    with tempfile.TemporaryDirectory() as folder, Sandbox(Path(folder)) as sandbox:
        command = sandbox.kernel_command()
        wrapped = command[:command.index("--")] + probe
        for _ in range(runs):
            for sign, argv in ((-1, probe), (1, wrapped)):
                begun = time.perf_counter()
                subprocess.run(argv, check=True)
                extra += sign * (time.perf_counter() - begun)
    return extra / runs


def measure(mode: str, scratch: Path) -> dict[str, float]:
    if mode == "stock":
        context = nullcontext(None)
    else:
        context = Sandbox(scratch, enabled=(mode == "sandbox"))
    with context as sandbox:
        km = AsyncKernelManager(kernel_name="python3") if sandbox is None else sandbox.kernel_manager()
        return run_sync(one_kernel)(km)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    modes = ["stock", "plain"] + (["sandbox"] if bwrap_problem() is None else [])
    if "sandbox" not in modes:
        print(f"No sandbox here: {bwrap_problem()}")
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.runs):
            for mode in modes:
                begun = time.perf_counter()
                times = measure(mode, Path(scratch))
                times["total with cleanup"] = time.perf_counter() - begun  # with the Sandbox's exit
                results[mode].append(times)
    steps = ["start", "imports", "shutdown", "total with cleanup", "kernel CPU"]
    print(f"Kernel cost, median of {args.runs} runs, seconds ({platform.node()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})\n")
    print("| kernel | " + " | ".join(steps) + " |")
    print("|---|" + "---:|" * len(steps))
    for mode, runs in results.items():
        cells = [f"{statistics.median(run[step] for run in runs):.2f}" for step in steps]
        print(f"| {mode} | " + " | ".join(cells) + " |")
    print(f"\nstart: to the reply of a first cell; imports: `{IMPORTS}`; "
          "total with cleanup: the whole `with Sandbox(...)` block; kernel CPU: the kernel's own "
          "user+system seconds until then, which the machine's load does not inflate.")
    if "sandbox" in modes:
        print(f"bwrap itself, per start (mean of {args.runs}): "
              f"{launch_overhead(args.runs) * 1000:.0f} ms wall.")


if __name__ == "__main__":
    main()
