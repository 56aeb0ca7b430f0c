"""Generate the student versions (``chapters/``) from the instructor sources (``solutions/``).

Runs real ``nbgrader generate_assignment`` in a temporary course folder, so the
gradebook and nbgrader's scratch files never touch the repository, then copies
the generated notebooks out. The output is byte-for-byte repeatable, which is
what lets ``--check`` (and the tests) prove that ``chapters/`` is up to date.

A release never loses a learner's file. ``chapters/RELEASE.json`` records the
SHA-256 of every file the last release wrote; a new release writes only those
files, refuses (and lists them) when one differs from what it wrote (a learner
edited it), and leaves every other file in ``chapters/`` alone. ``--force``
overwrites edited notebooks, but first keeps each as ``NAME.edited-TIMESTAMP.ipynb``.

    python -m autograder.instructor.authoring.release            # regenerate chapters/
    python -m autograder.instructor.authoring.release --check    # fail if chapters/ is stale
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import autograder
from autograder.instructor.cells import file_sha256
from autograder.instructor.course import Course, chapter_ids, course_and_chapters

PACKAGE_PARENT = Path(autograder.__file__).resolve().parents[1]
MANIFEST = "RELEASE.json"


def nbgrader_env() -> dict[str, str]:
    """Environment for nbgrader: this interpreter's bin/ on PATH (nbgrader runs `alembic`),
    this package first on PYTHONPATH (the course's package, not a student's copy of it)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(PACKAGE_PARENT) + os.pathsep + env.get("PYTHONPATH", "")
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
        "from autograder.instructor.config import configure\n"
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


def make_course(root: Path, chapters: list[str], solutions: Path,
                **options: object) -> None:
    """Copy the chapters' sources into ``root/source`` and generate them (fills the gradebook).

    nbgrader's ``generate_assignment`` runs in this process, through its Python API
    (``NbGraderAPI``), configured as the course folder's ``nbgrader_config.py`` says: one
    process for every chapter, not one each."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from autograder.instructor.config import configure

    for chapter in chapters:
        shutil.copytree(solutions / chapter, root / "source" / chapter, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    write_course_config(root, **options)
    config = configure(Config(), root=root, source="source", release="release", **options)
    from autograder.instructor.grading.opengradebook import read_alembic_head_in_process

    # A new gradebook without an `alembic` subprocess (about 1 s), so no `alembic` on PATH either.
    read_alembic_head_in_process()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    for chapter in chapters:
        result = api.generate_assignment(chapter, force=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {chapter} failed: "
                               f"{result.get('error', '')}\n{result.get('log', '')}")


def generate(destination: Path, solutions: Path, chapters: list[str] | None = None,
             editions: bool = False) -> list[Path]:
    """Generate student versions of ``chapters`` into ``destination/<chapter>/`` (a fresh folder);
    with ``editions``, also each translated edition into ``destination/<language>/<chapter>/``."""
    chapters = chapters or chapter_ids(solutions)
    with tempfile.TemporaryDirectory(prefix="backprop-release-") as scratch:
        root = Path(scratch)
        make_course(root, chapters, solutions)
        for chapter in chapters:
            shutil.copytree(root / "release" / chapter, destination / chapter, dirs_exist_ok=True)
    if editions:
        # Here, not at the top: only a release of the translated editions needs Babel.
        from autograder.instructor.authoring.translations import TRANSLATIONS, write_editions

        write_editions(destination, solutions.parent / TRANSLATIONS, chapters)
    return sorted(p for p in destination.rglob("*") if p.is_file())


def read_manifest(chapters_dir: Path) -> dict[str, str]:
    """What the last release wrote: relative path -> SHA-256 (empty before the first release)."""
    path = chapters_dir / MANIFEST
    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text())["files"])
    except (ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"{path} is damaged ({error}); restore it from git, or delete it and "
                         "run `make release` again (edited notebooks are then kept).") from None


def manifest_text(files: dict[str, str]) -> str:
    return json.dumps({"note": "Written by `make release`: the files it generated and their SHA-256. "
                       "A release overwrites only files that still match.",
                       "files": dict(sorted(files.items()))}, indent=1) + "\n"


def plan_release(fresh: Path, chapters_dir: Path, chapters: list[str] | None = None
                 ) -> tuple[list[str], list[str], list[str]]:
    """``(to_write, edited, stale)`` relative paths: files to (over)write, files a learner
    changed since the last release (or that the release never wrote), and files the last
    release wrote that are no longer generated."""
    manifest = read_manifest(chapters_dir)
    new = {str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file()}
    to_write, edited = [], []
    for rel in sorted(new):
        target = chapters_dir / rel
        if target.is_symlink() or (target.exists() and not target.is_file()):
            edited.append(rel)
        elif not target.exists() or filecmp.cmp(fresh / rel, target, shallow=False):
            to_write.append(rel)
        elif manifest.get(rel) == file_sha256(target):
            to_write.append(rel)  # what we wrote last time, unchanged since: ours to replace
        else:
            edited.append(rel)
    selected = set(chapters or [])
    stale = sorted(rel for rel in manifest if rel not in new
                   and (not selected or Path(rel).parts[0] in selected))
    return to_write, edited, stale


def keep_copy(path: Path) -> Path:
    """Move an edited file aside as ``NAME.edited-TIMESTAMP.EXT``; never overwrite a copy."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        suffix = f".edited-{stamp}" + (f"-{n}" if n else "")
        copy = path.with_name(path.stem + suffix + path.suffix)
        if not copy.exists():
            path.rename(copy)
            return copy
    raise RuntimeError(f"could not find a free name to keep {path}")


def release(course: Course, chapters: list[str] | None = None, force: bool = False,
            out=print, editions: bool = False) -> int:
    """Write ``chapters/`` from ``solutions/``; 1 (nothing written) if a learner's file is in the way."""
    chapters_dir = course.chapters
    with tempfile.TemporaryDirectory(prefix="backprop-fresh-") as scratch:
        fresh = Path(scratch)
        generate(fresh, course.solutions, chapters, editions)
        to_write, edited, stale = plan_release(fresh, chapters_dir, chapters)
        if edited and not force:
            out("These files in chapters/ differ from what the last release wrote (a learner's "
                "work?), so `make release` wrote nothing:\n  " + "\n  ".join(edited) +
                "\nCopy them elsewhere, or run `make release FORCE=1`, which keeps each as "
                "NAME.edited-TIMESTAMP.ipynb before writing the new version.")
            return 1
        manifest = read_manifest(chapters_dir)
        for rel in edited:
            target = chapters_dir / rel
            if target.is_dir() and not target.is_symlink():
                out(f"kept {target.relative_to(course.root)}: a folder where a generated file "
                    "belongs; move it, then release again")
                continue
            kept = keep_copy(target)
            out(f"kept your version as {kept.relative_to(course.root)}")
        for rel in to_write + [r for r in edited if not (chapters_dir / r).exists()]:
            target = chapters_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() and filecmp.cmp(fresh / rel, target, shallow=False):
                manifest[rel] = file_sha256(target)
                continue
            shutil.copyfile(fresh / rel, target)
            manifest[rel] = file_sha256(target)
            out(f"wrote {target.relative_to(course.root)}")
        for rel in stale:
            target = chapters_dir / rel
            if target.is_file() and manifest.get(rel) == file_sha256(target):
                target.unlink()
                out(f"removed {target.relative_to(course.root)} (no longer generated)")
            elif target.exists():
                out(f"left {target.relative_to(course.root)}: no longer generated, but edited")
            manifest.pop(rel, None)
    (chapters_dir / MANIFEST).write_text(manifest_text(manifest))
    return 0


def stale_files(course: Course, editions: bool = False) -> list[str]:
    """Files where ``chapters/`` differs from a fresh generation (empty when in sync)."""
    chapters_dir = course.chapters
    with tempfile.TemporaryDirectory(prefix="backprop-check-") as scratch:
        fresh = Path(scratch)
        generate(fresh, course.solutions, editions=editions)
        problems = []
        fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
        manifest = read_manifest(chapters_dir)
        for rel in sorted(fresh_files):
            if not (chapters_dir / rel).is_file():
                problems.append(f"missing: chapters/{rel}")
            elif not filecmp.cmp(fresh / rel, chapters_dir / rel, shallow=False):
                problems.append(f"differs from what solutions/ generates: chapters/{rel}")
            elif manifest.get(str(rel)) != file_sha256(fresh / rel):
                problems.append(f"not recorded in chapters/{MANIFEST}: chapters/{rel}")
        for rel in sorted(set(manifest) - {str(p) for p in fresh_files}):
            problems.append(f"chapters/{MANIFEST} lists a file solutions/ no longer generates: {rel}")
        return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate chapters/ from solutions/.")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if chapters/ differs from a fresh generation")
    parser.add_argument("chapters", nargs="*", help="chapter folders (default: all)")
    parser.add_argument("--force", action="store_true",
                        help="replace edited student notebooks (each is kept as NAME.edited-TIME.ipynb)")
    parser.add_argument("--editions", action="store_true",
                        help="also the translated editions, chapters/<language>/ (docs/TRANSLATING.md)")
    parser.add_argument("--course", help="the course folder (default: found from the working directory)")
    args = parser.parse_args(argv)
    course = course_and_chapters(args.course, args.chapters)
    if course is None:
        return 2
    if args.check:
        problems = stale_files(course, args.editions)
        for problem in problems:
            print(problem)
        if problems:
            print("chapters/ is out of date: run `make release` and commit the result.")
            return 1
        print(f"chapters/ is exactly what solutions/ generates ({len(course.chapter_ids())} chapters).")
        return 0
    return release(course, args.chapters or None, force=args.force, editions=args.editions)


if __name__ == "__main__":
    sys.exit(main())
