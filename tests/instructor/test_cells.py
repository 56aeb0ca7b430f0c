"""The helpers every room shares (autograder/instructor/cells.py)."""

from __future__ import annotations

import nbformat

from autograder.instructor.cells import (
    cell_label,
    file_sha256,
    grade_id,
    is_answer,
    is_plain,
    is_solution_code,
    is_test,
    read_json,
    sha256,
    write_atomic,
)


def cell(kind: str, **nbgrader) -> nbformat.NotebookNode:
    new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    made = new("x = 1")
    if nbgrader:
        made.metadata["nbgrader"] = nbgrader
    return made


def test_each_kind_of_cell_is_told_apart():
    test = cell("code", grade=True, solution=False, grade_id="f__tests", points=1)
    answer = cell("markdown", grade=True, solution=True, grade_id="q1", points=1)
    solution = cell("code", grade=False, solution=True, grade_id="f")
    locked = cell("code", grade=False, solution=False, locked=True, grade_id="setup")
    plain = cell("code")
    cells = (test, answer, solution, locked, plain)
    assert [is_test(c) for c in cells] == [True, False, False, False, False]
    assert [is_answer(c) for c in cells] == [False, True, False, False, False]
    assert [is_solution_code(c) for c in cells] == [False, False, True, False, False]
    assert [is_plain(c) for c in cells] == [False, False, False, False, True]
    assert grade_id(test) == "f__tests" and grade_id(plain) is None
    assert cell_label(test, 3) == "cell f__tests" and cell_label(plain, 3) == "cell 3"


def test_hashes_take_text_with_lone_surrogates_and_files(tmp_path):
    assert sha256("abc") == sha256(b"abc")
    assert len(sha256("notes \ud800")) == 64  # never UnicodeEncodeError
    (tmp_path / "f").write_bytes(b"abc")
    assert file_sha256(tmp_path / "f") == sha256(b"abc")


def test_json_files_are_written_whole_and_read_or_defaulted(tmp_path):
    target = tmp_path / "sub" / "record.json"
    assert read_json(target, {}) == {}
    write_atomic(target, '{"a": 1}')
    assert read_json(target) == {"a": 1}
    assert [p.name for p in target.parent.iterdir()] == ["record.json"]  # no temporary file left


def test_nbgraders_rules_come_without_loading_the_nbgrader_package():
    """``make check`` and every grading process use nbgrader's scoring rule, but importing the
    package costs 1.1 s of CPU (its server extensions); cells.nbgrader_utils() takes the module
    alone. It must stay loadable alone (no relative import), and grading must not load the rest."""
    import ast
    import importlib.util
    import subprocess
    import sys
    from pathlib import Path

    utils = Path(importlib.util.find_spec("nbgrader").submodule_search_locations[0]) / "utils.py"
    tree = ast.parse(utils.read_text())
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert not relative, "nbgrader/utils.py now imports from its package: load nbgrader.utils normally"
    # selfcheck and the worker's own imports, and what run_cells imports to run a notebook
    code = ("import sys\nimport autograder.instructor.grading.selfcheck\n"
            "import autograder.instructor.grading.worker\nimport autograder.instructor.execute\n"
            "from autograder.instructor.cells import nbgrader_utils\n"
            "assert nbgrader_utils().determine_grade.__module__\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'nbgrader'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"make check's path imports the nbgrader package: {out}"


def test_the_predicates_agree_with_nbgrader_on_every_chapter():
    from pathlib import Path

    from nbgrader import utils

    from autograder.instructor.cells import is_grade, is_solution

    for path in sorted((Path(__file__).resolve().parents[2] / "solutions").glob("*/*.ipynb")):
        for c in nbformat.read(str(path), as_version=4).cells:
            assert (is_grade(c), is_solution(c)) == (bool(utils.is_grade(c)), bool(utils.is_solution(c)))
