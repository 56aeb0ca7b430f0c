"""`make check`: the learner gets the grader's verdict on their own notebook, hidden tests included,
with the checks' messages but never a hidden test's code, and the notebook is never written."""

from __future__ import annotations

import hashlib
import json
import re

import nbformat
import pytest

from autograder.instructor.grading import selfcheck
from tests.chapters import COURSE, source_path

pytestmark = [pytest.mark.slow, pytest.mark.chapter(1)]
CHAPTER = "01_neural_network_basics"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def hidden_lines() -> set[str]:
    nb = nbformat.read(str(source_path(CHAPTER)), as_version=4)
    return {line.strip() for cell in nb.cells for block in HIDDEN.findall(cell.source)
            for line in block.splitlines() if len(line.strip()) > 12}


def run(path, capsys, *args):
    code = selfcheck.main([str(path), "--course", str(COURSE.root), *args])
    return code, capsys.readouterr().out


def test_a_wrong_relu_grad_fails_with_the_hidden_tests_message_and_the_notebook_is_untouched(
        tmp_path, capsys):
    nb = nbformat.read(str(source_path(CHAPTER)), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu_grad")
    cell.source = cell.source.replace("np.where(z > 0, 1.0, 0.0)", "np.where(z >= 0, 1.0, 0.0)")
    path = tmp_path / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, str(path))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, out = run(path, capsys)
    assert code == 1
    assert re.search(r"failed\s+relu_grad\s+0/2", out), out
    assert "use z > 0, not z >= 0" in out, "the check's message is shown"
    assert re.search(r"passed\s+sigmoid\s+3/3", out)
    leaked = [line for line in hidden_lines() if line in out]
    assert not leaked, f"hidden test code in the self-check's output: {leaked[:3]}"
    assert "model answer:" in out
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_the_solution_passes_and_model_answers_can_be_turned_off(tmp_path, capsys):
    path = tmp_path / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir()
    path.write_bytes(source_path(CHAPTER).read_bytes())
    answers_file = tmp_path / "answers.json"
    code, out = run(path, capsys, "--no-model-answers", "--quiet-start", "--answers-file", str(answers_file))
    assert code == 0, out
    assert "Every test passes." in out and "model answer:" not in out
    assert "compare yours with the model answer" not in out, "no promise of answers that are not shown"
    assert "model answers not shown" in out
    assert "Checking" not in out, "the button prints its own line: one 'Checking', not two"
    assert answers_file.read_text() == "{}"


def test_the_button_gets_the_model_answers_as_markdown_for_its_maths(tmp_path, capsys):
    path = tmp_path / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir()
    path.write_bytes(source_path(CHAPTER).read_bytes())
    answers_file = tmp_path / "answers.json"
    code, out = run(path, capsys, "--quiet-start", "--answers-file", str(answers_file))
    answers = json.loads(answers_file.read_text())
    assert code == 0, out
    assert answers and "model answer:" not in out
    assert any("$" in answer for answer in answers.values()), "LaTeX travels to be typeset, not printed"


def test_an_unknown_chapter_is_refused_with_the_list(capsys):
    with pytest.raises(SystemExit, match="no chapter '42'"):
        selfcheck.main(["42", "--course", str(COURSE.root)])
