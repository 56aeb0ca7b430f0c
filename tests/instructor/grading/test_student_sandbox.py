"""The student process's folders and command line (autograder/instructor/grading/student_sandbox.py).
S started from them and driven by T's bridge: test_student_process.py."""

from __future__ import annotations

import sys

from autograder.instructor.grading.sandbox import Limits
from autograder.instructor.grading.student_sandbox import (
    LIB_FILES,
    StudentFolders,
    hidden_paths,
    site_packages,
    student_command,
)
from autograder.reference import CHAPTER_OF


def test_s_gets_the_course_library_of_earlier_chapters_only(tmp_path):
    folders = StudentFolders.create(tmp_path / "s", chapter_number=4)
    shipped = {p.stem for p in (folders.lib / "autograder" / "reference").glob("*.py")} - {"__init__"}
    assert shipped == {module for module, chapter in CHAPTER_OF.items() if chapter < 4}, shipped
    assert all((folders.lib / name).is_file() for name in LIB_FILES)
    assert (folders.scratch.stat().st_mode & 0o777, folders.run.stat().st_mode & 0o777) == (0o777, 0o777)
    assert (folders.lib / "protocol.py").stat().st_mode & 0o777 == 0o644, "S may not change its library"
    ours = {p.name for p in (folders.lib / "autograder").glob("*.py")}
    assert ours == {"__init__.py", "i18n.py", "fonts.py"}, f"the harness stays T's: {ours}"
    assert list((folders.lib / "autograder" / "locale").rglob("backprop_lab.mo")), "the demos' labels"
    assert not list(folders.lib.rglob("backprop_lab_hidden*")), "the hidden tests' texts stay T's"


def test_without_the_sandbox_s_is_launched_by_sandbox_exec_with_its_own_environment(tmp_path):
    folders = StudentFolders.create(tmp_path / "s", chapter_number=1)
    argv = student_command(folders, Limits(), enabled=False, generation=3, max_frame=1024)
    assert argv[:4] == [sys.executable, "-I", "-S", str(folders.lib / "sandbox_exec.py")]
    program = argv[argv.index("--") + 1:]
    assert program[:4] == [sys.executable, "-I", "-S", str(folders.lib / "student_process.py")]
    assert program[program.index("--generation") + 1] == "3"
    assert program[program.index("--max-frame") + 1] == "1024"
    assert program[program.index("--figures") + 1] == "draw" and "MPLBACKEND=Agg" in " ".join(argv)
    quiet = student_command(folders, Limits(), enabled=False, generation=3, max_frame=1024, figures=False)
    assert quiet[quiet.index("--figures") + 1] == "none" and "MPLBACKEND=template" in " ".join(quiet), (
        "make check's S draws no figure, as its T")
    assert program[program.index("--site") + 1] == str(site_packages())
    assert not any(value.startswith("PYTHONPATH=") for value in argv), "T's import path never reaches S"
    assert "NPROC=" not in " ".join(argv), "NPROC counts the grader's own user outside a sandbox"


def test_torch_and_the_grader_are_hidden_from_s_where_they_are_installed():
    site = site_packages()
    hidden = hidden_paths()
    assert all(path.is_dir() for path in hidden)
    assert (site / "torch" in hidden) == (site / "torch").is_dir()
