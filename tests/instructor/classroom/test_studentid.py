"""The rule for a student id, what a submission folder and a roster row may be called
(autograder/instructor/classroom/studentid.py). Roster-level cases are in test_roster.py."""

from __future__ import annotations

import os

import pytest

from autograder.instructor.classroom.studentid import MAX_LENGTH, RULE, id_problem, normalise_id, shown


@pytest.mark.parametrize("good", ["ada", "José", "学生1", "a.b_c@d+e-f", "7", "x" * MAX_LENGTH])
def test_letters_digits_and_a_little_punctuation_make_an_id(good):
    assert id_problem(good) is None


@pytest.mark.parametrize("bad,why", [
    ("", "the id is empty"), (".hidden", "starts with '.'"), ("..", "starts with '.'"),
    ("a/b", "a path separator '/'"), ("a*", "a glob character '*'"), ("a b", "whitespace (SPACE)"),
    ("a\x01", "a control character (0x01)"), ("a'b", "\"'\" (apostrophe)"),
    ("x" * (MAX_LENGTH + 1), f"has {MAX_LENGTH + 1} characters"),
])
def test_a_refused_id_says_why_and_states_the_rule(bad, why):
    problem = id_problem(bad)
    assert problem is not None and why in problem and problem.endswith(RULE), problem


def test_an_accent_typed_as_two_characters_is_the_same_student():
    decomposed = "Jose\u0301"
    assert normalise_id(decomposed) == "José" and id_problem(decomposed) is None


def test_a_name_that_is_not_utf8_is_refused_and_shown_escaped():
    name = os.fsdecode(b"caf\xe9")
    assert "a byte that is not UTF-8 (0xe9)" in id_problem(name)
    assert shown(name) == repr("caf\\xe9")
