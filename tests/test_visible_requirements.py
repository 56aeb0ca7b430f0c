"""Hidden tests check generality, never a new requirement: for every exercise, each kind of check its
hidden tests use (no_numpy_warnings, check_no_mutation, check_dtype, check_raises, grad_check, ...) is
also used by its visible tests, so a learner meets every stated requirement before grading."""

from __future__ import annotations

import ast
import re

import pytest

from tests.chapters import chapter_params, nbgrader_meta, read, source_path

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
# Checks that are about the submission, not a requirement a learner can meet differently.
NOT_A_REQUIREMENT = {"check_own_code"}


def check_kinds(code: str) -> set[str]:
    tree = ast.parse(code)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name.startswith("check_") or name in ("no_numpy_warnings", "grad_check"):
                names.add(name)
    return names - NOT_A_REQUIREMENT


def split(source: str) -> tuple[str, str]:
    """(visible code, hidden code) of a test cell; the hidden part dedented to parse alone."""
    hidden = "\n".join(HIDDEN.findall(source))
    visible = HIDDEN.sub("", source)
    lines = [line for line in hidden.splitlines() if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in lines), default=0)
    hidden = "\n".join(line[indent:] for line in hidden.splitlines())
    return visible, "if True:\n" + "\n".join("    " + line for line in hidden.splitlines()) + "\n    pass"


@pytest.mark.parametrize("chapter", chapter_params())
def test_hidden_tests_add_no_kind_of_check_the_visible_tests_lack(chapter):
    visible_by, hidden_by = {}, {}
    for cell in read(source_path(chapter)).cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        exercise = meta["grade_id"].split("__")[0]
        visible, hidden = split(cell.source)
        visible_by.setdefault(exercise, set()).update(check_kinds(visible))
        hidden_by.setdefault(exercise, set()).update(check_kinds(hidden))
    missing = {exercise: sorted(kinds - visible_by.get(exercise, set()))
               for exercise, kinds in hidden_by.items() if kinds - visible_by.get(exercise, set())}
    assert not missing, (f"{chapter}: hidden tests use checks the visible tests of the same exercise "
                         f"never use (a requirement the learner cannot see): {missing}")
