"""The grader answers in the submission's language (autograder/i18n.py): the policy's messages, the
kernel's environment, `make check`'s report and the feedback page; English stays as it was."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograder import i18n
from autograder.instructor.grading import feedback, sandbox, selfcheck
from autograder.instructor.grading.policy import check_cell, facts_from_source
from autograder.instructor.grading.records import Record

REPO = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u4e00-\u9fff]")
RECORD = Record.from_dict({
          "student": "ada", "chapter": "01_neural_network_basics", "status": "graded", "reason": "",
          "tests": {"sigmoid__tests": {"score": 0.0, "points": 2.0, "message": "x: expected 1, got 2."},
                    "relu__tests": {"score": 1.0, "points": 1.0}},
          "answers": {}, "policy": [{"cell": "sigmoid", "line": 2, "construct": "import os",
                                     "message": "Graded code may import only numpy."}]})


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)


def _policy_message() -> str:
    source = REPO / "solutions" / "01_neural_network_basics" / "01_neural_network_basics.ipynb"
    facts = facts_from_source(nbformat.read(str(source), as_version=4), 1)
    (violation,) = check_cell("from os import *\n", facts, "answer")
    return violation.message


def test_the_policys_message_follows_the_language():
    english = _policy_message()
    assert english == "`from ... import *` is not allowed; import the names you need one by one."
    with i18n.language("zh_CN"):
        assert _policy_message() == "不允许 `from ... import *`；请逐个导入需要的名字。"


def test_a_grading_kernel_is_told_the_language_and_only_when_there_is_one():
    assert i18n.ENV_VAR not in sandbox.kernel_environment("cpu", "/tmp")
    with i18n.language("zh_CN"):
        assert sandbox.kernel_environment("cpu", "/tmp")[i18n.ENV_VAR] == "zh_CN"


def test_a_submission_keeps_its_language_for_its_feedback_page():
    kept: dict = {}
    with i18n.submission_language({"language": "zh_CN"}, kept):
        assert i18n.current_language() == "zh_CN"
    assert kept == {"language": "zh_CN"}
    kept = {}
    with i18n.submission_language({"language": "../../etc"}, kept):  # the student's metadata: not a code
        assert i18n.chosen_language() == ""
    assert kept == {}


def _report(lang: str) -> str:
    lines: list[str] = []
    with i18n.language(lang):
        selfcheck.report(RECORD, {}, out=lines.append)
    return "\n".join(lines)


def test_make_checks_report_is_unchanged_in_english_and_chinese_for_a_chinese_notebook():
    english = _report("")
    assert english.splitlines()[0] == ("Self-check of 01_neural_network_basics: 1 / 3 test points "
                                       "(the hidden tests included, as at grading)")
    assert "NOT RUN: sigmoid, line 2: import os: Graded code may import only numpy." in english
    assert english.endswith("Some tests fail: the messages above say where.")
    chinese = _report("zh_CN")
    assert chinese.splitlines()[0] == ("01_neural_network_basics 的自查：测试得分 1 / 3"
                                       "（与正式评分一样，包括隐藏测试）")
    assert "未运行：sigmoid，第 2 行" in chinese
    assert chinese.endswith("有测试未通过：上面的消息指出了问题所在。")


def _page(language: str | None) -> str:
    nb = nbformat.v4.new_notebook()
    if language:
        nb.metadata["language"] = language
    page = feedback.page_notebook(RECORD, nb, {}, {})
    return page.cells[0].source


def test_the_feedback_page_follows_the_submissions_language():
    english = _page(None)
    assert english.startswith("# Feedback: 01_neural_network_basics\nStudent: `ada`  \n"
                              "Tests: **1 / 3** points")
    assert not CJK.search(english)
    chinese = _page("zh_CN")
    assert chinese.startswith("# 反馈：01_neural_network_basics\n学生：`ada`  \n测试：**1 / 3** 分")
    assert "**评分程序没有运行的代码**" in chinese


def test_make_check_shows_the_model_answers_in_the_notebooks_language():
    from autograder.instructor.course import Course

    course = Course(REPO)
    chapter = course.chapter_ids()[0]
    english = selfcheck.model_answers(course, chapter)
    chinese = selfcheck.model_answers(course, chapter, "zh_CN")
    assert english.keys() == chinese.keys() and english
    assert not any(CJK.search(answer) for answer in english.values())
    assert all(CJK.search(answer) for answer in chinese.values()), "a model answer is not translated"
