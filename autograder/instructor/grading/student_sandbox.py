"""S's sandbox: its library folder and its command line (bubblewrap, as for T, with less inside).

    folder = StudentFolders.create(root, chapter_number=4)
    argv = student_command(folder, Limits(), enabled=True, generation=1, max_frame=256 * MiB)

S sees, read-only: the system, the interpreter, the environment's site-packages with torch's folders
made empty (``HIDDEN_PACKAGES``), and ``lib/``: ``protocol.py``, ``student_process.py``,
``sandbox_exec.py`` and an ``autograder`` package that holds only ``autograder/reference``'s modules
of chapters before this one (``CHAPTER_OF``), the message catalogs (``i18n.py`` and the compiled
``.mo`` files), ``fonts.py`` and ``diagrams/`` (the figures' drawing code). The repository's
``autograder`` folder (harness, instructor tools) is not mounted; if the package is installed into
site-packages instead, its folder there is hidden too. Writable: its own scratch folder, its
``run/`` folder (matplotlib's cache, the passwd files) and a capped ``/tmp``. It never sees T's run
folder, T's scratch, the template or the tests.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from autograder.instructor.grading import sandbox
from autograder.instructor.grading.sandbox import PACKAGE_DIR, Limits

HERE = Path(__file__).resolve().parent
LIB_FILES = ("protocol.py", "student_process.py", "sandbox_exec.py")
HIDDEN_PACKAGES = ("torch", "torchgen", "functorch", "triton", "nvidia")


@dataclass(frozen=True)
class StudentFolders:
    root: Path
    lib: Path
    run: Path
    scratch: Path

    @classmethod
    def create(cls, root: Path, chapter_number: int) -> StudentFolders:
        folders = cls(root, root / "lib", root / "run", root / "scratch")
        for path in (folders.lib, folders.run, folders.scratch):
            path.mkdir(parents=True)
        root.chmod(0o755)
        for path in (folders.run, folders.scratch):
            path.chmod(0o777)  # S's user (65534) writes here
        for name in LIB_FILES:
            shutil.copy(HERE / name, folders.lib / name)
        reference = PACKAGE_DIR / "reference"
        target = folders.lib / "autograder" / "reference"
        target.mkdir(parents=True)
        (folders.lib / "autograder" / "__init__.py").write_text(
            '"""At grading, the student\'s process has only the course library of earlier chapters."""\n')
        shutil.copy(reference / "__init__.py", target / "__init__.py")
        # The message catalogs and the figure fonts: the demos S runs label their figures with
        # ``tr`` in the submission's language (student_cells.S_PACKAGE_MODULES).
        for name in ("i18n.py", "fonts.py"):
            shutil.copy(PACKAGE_DIR / name, folders.lib / "autograder" / name)
        # The figures' drawing code (``draw_network``, ``draw_value_graph``...): a learner's cell
        # and the demos S runs draw with it, as in JupyterLab.
        shutil.copytree(PACKAGE_DIR / "diagrams", folders.lib / "autograder" / "diagrams",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for catalog in (PACKAGE_DIR / "locale").rglob("*.mo"):
            copied = folders.lib / "autograder" / catalog.relative_to(PACKAGE_DIR)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(catalog, copied)
        from autograder.reference import CHAPTER_OF

        for module, chapter in CHAPTER_OF.items():
            if chapter < chapter_number:
                shutil.copy(reference / f"{module}.py", target / f"{module}.py")
        for path in folders.lib.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        sandbox._seed_matplotlib_cache(folders.run / "matplotlib")
        (folders.run / "tmp").mkdir()
        (folders.run / "tmp").chmod(0o777)
        return folders


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def hidden_paths() -> list[Path]:
    site = site_packages()
    hidden = [site / name for name in HIDDEN_PACKAGES if (site / name).is_dir()]
    if PACKAGE_DIR.is_relative_to(site):
        hidden.append(PACKAGE_DIR)
    return hidden


def student_command(folders: StudentFolders, limits: Limits, *, enabled: bool, generation: int,
                    max_frame: int, figures: bool = True) -> list[str]:
    """S's argv: bwrap (if enabled), sandbox_exec.py, then ``python -I -S student_process.py``."""
    home = "/tmp" if enabled else str(folders.run / "tmp")
    env = sandbox.kernel_environment("cpu", home, {"MPLCONFIGDIR": str(folders.run / "matplotlib"),
                                                   "MPLBACKEND": "Agg" if figures else "template"})
    env.pop("PYTHONPATH", None)
    launcher = [sys.executable, "-I", "-S", str(folders.lib / "sandbox_exec.py"),
                "--chdir", str(folders.scratch)]
    for name, value in limits.rlimits().items():
        if enabled or name != "NPROC":
            launcher += ["--rlimit", f"{name}={value}"]
    for name, value in env.items():
        launcher += ["--setenv", f"{name}={value}"]
    program = [sys.executable, "-I", "-S", str(folders.lib / "student_process.py"), "--lib", str(folders.lib),
               "--site", str(site_packages()), "--generation", str(generation),
               "--output-bytes", str(limits.output_bytes or 2 * sandbox.MiB), "--max-frame", str(max_frame),
               "--figures", "draw" if figures else "none"]
    if not enabled:
        return [*launcher, "--", *program]
    bwrap = sandbox.bwrap_executable()
    assert bwrap is not None  # the worker checked bwrap_problem()
    read_only = [path for path in sandbox.read_only_paths() if path != PACKAGE_DIR] + [folders.lib]
    mounts = sandbox.mount_args(folders.scratch, folders.run, limits.tmp_bytes, "cpu",
                                read_only=read_only, hidden=hidden_paths())
    return [str(bwrap), *sandbox.namespace_args(), *mounts, "--chdir", str(folders.scratch),
            "--", *launcher, "--", *program]
