"""Generate the student versions (``chapters/``) from the instructor sources (``solutions/``).

Runs real ``nbgrader generate_assignment`` in a temporary course folder, so the
gradebook and nbgrader's scratch files never touch the repository, then copies
the generated notebooks out. The output is byte-for-byte repeatable, which is
what lets ``--check`` (and the tests) prove that ``chapters/`` is up to date.

    python -m autograder.pipeline.release            # regenerate chapters/
    python -m autograder.pipeline.release --check    # fail if chapters/ is stale
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
CHAPTERS = REPO / "chapters"


def chapter_ids(solutions: Path = SOLUTIONS) -> list[str]:
    """Chapter folders that hold a notebook of the same name: ``NN_name/NN_name.ipynb``."""
    return sorted(p.name for p in solutions.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").is_file())


def nbgrader_env() -> dict[str, str]:
    """Environment for nbgrader: this interpreter's bin/ on PATH (nbgrader runs `alembic`),
    the repository first on PYTHONPATH (the package, not a student's copy of it)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    # One BLAS thread: the course's matrices are small, and threads fighting over a
    # loaded machine's cores can make a cell 10x slower and trip the cell timeout.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def write_course_config(root: Path, **options: object) -> None:
    """A course folder's nbgrader_config.py: the shared settings, rooted at ``root``."""
    extra = "".join(f", {k}={v!r}" for k, v in options.items())
    (root / "nbgrader_config.py").write_text(
        "from autograder.pipeline.config import configure\n"
        f"configure(get_config(), root={str(root)!r}, source='source', release='release'{extra})\n"
    )


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_nbgrader(root: Path, *args: str, timeout: float | None = None,
                 log: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` with ``root`` as the course folder (and its config).

    nbgrader and the kernels it starts share a new process group, so that a
    timeout kills them all (a looping kernel must not outlive its grading).
    """
    command = [str(Path(sys.executable).parent / "nbgrader"), *args]
    handle = open(log, "a") if log is not None else None
    try:
        process = subprocess.Popen(
            command, cwd=root, env=nbgrader_env(), text=True, start_new_session=True,
            stdout=handle or subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.communicate()
            raise
        finally:
            _kill_group(process.pid)  # whatever nbgrader left running
    finally:
        if handle is not None:
            handle.close()
    return subprocess.CompletedProcess(command, process.returncode, output or "", "")


def make_course(root: Path, chapters: list[str], solutions: Path = SOLUTIONS,
                **options: object) -> None:
    """Copy the chapters' sources into ``root/source`` and generate them (fills the gradebook)."""
    for chapter in chapters:
        shutil.copytree(solutions / chapter, root / "source" / chapter, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    write_course_config(root, **options)
    for chapter in chapters:
        result = run_nbgrader(root, "generate_assignment", chapter, "--force")
        if result.returncode != 0:
            raise RuntimeError(
                f"nbgrader generate_assignment {chapter} failed:\n{result.stdout}"
            )


def generate(destination: Path, chapters: list[str] | None = None,
             solutions: Path = SOLUTIONS) -> list[Path]:
    """Generate student versions of ``chapters`` into ``destination/<chapter>/``."""
    chapters = chapters or chapter_ids(solutions)
    written = []
    with tempfile.TemporaryDirectory(prefix="backprop-release-") as scratch:
        root = Path(scratch)
        make_course(root, chapters, solutions)
        for chapter in chapters:
            target = destination / chapter
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(root / "release" / chapter, target)
            written += sorted(target.rglob("*"))
    return [p for p in written if p.is_file()]


def stale_files(chapters_dir: Path = CHAPTERS, solutions: Path = SOLUTIONS) -> list[str]:
    """Files where ``chapters_dir`` differs from a fresh generation (empty when in sync)."""
    with tempfile.TemporaryDirectory(prefix="backprop-check-") as scratch:
        fresh = Path(scratch)
        generate(fresh, solutions=solutions)
        problems = []
        fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
        current = {p.relative_to(chapters_dir) for p in chapters_dir.rglob("*")
                   if p.is_file() and ".ipynb_checkpoints" not in p.parts}
        for rel in sorted(fresh_files | current):
            if rel not in current:
                problems.append(f"missing: chapters/{rel}")
            elif rel not in fresh_files:
                problems.append(f"not generated from solutions/: chapters/{rel}")
            elif not filecmp.cmp(fresh / rel, chapters_dir / rel, shallow=False):
                problems.append(f"differs from what solutions/ generates: chapters/{rel}")
        return problems


def learner_edits(chapters_dir: Path = CHAPTERS) -> list[str]:
    """Student notebooks in ``chapters_dir`` that git says were edited (a learner's work)."""
    try:
        result = subprocess.run(["git", "status", "--porcelain", "--", str(chapters_dir)],
                                cwd=REPO, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return [line[3:] for line in result.stdout.splitlines()
            if line[:2].strip() in ("M", "MM", "AM") and line.endswith(".ipynb")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate chapters/ from solutions/.")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if chapters/ differs from a fresh generation")
    parser.add_argument("chapters", nargs="*", help="chapter folders (default: all)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite student notebooks in chapters/ even if they were edited")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_files()
        for problem in problems:
            print(problem)
        if problems:
            print("chapters/ is out of date: run `make release` and commit the result.")
            return 1
        print(f"chapters/ is exactly what solutions/ generates ({len(chapter_ids())} chapters).")
        return 0
    edited = learner_edits()
    if edited and not args.force:
        print("These student notebooks hold edits (a learner's work?) that `make release` would "
              "overwrite:\n  " + "\n  ".join(edited) +
              "\nCommit or copy them elsewhere first, or run `make release FORCE=1`.")
        return 1
    files = generate(CHAPTERS, args.chapters or None)
    for path in files:
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
