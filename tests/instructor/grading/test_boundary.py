"""boundary.py on its own: what a worker returns is typed and cleaned before anything stores or
prints it (the whole batch through it: test_batch_boundary.py)."""

from __future__ import annotations

from autograder.instructor.grading.boundary import finding, normalise_record
from autograder.instructor.grading.records import Record
from autograder.instructor.grading.selfcheck import report

IDENTITY = ("ada", "01_demo", "sub-sha", "rel-sha")


def test_advice_with_odd_keys_and_values_is_typed_like_a_policy_finding():
    raw = {"status": "graded", "isolation": "two-process",
           "advice": [{"cell": "sigmoid", "line": "7", 3: "an int key", "construct": ["import"],
                       "message": "imports torch \ud800", "note": "kept"},
                      {"line": True},  # no field of a finding at all
                      "not a dict"],
           "policy": [{"cell": None, "line": -4, "message": 12}, "not a dict"]}
    record = normalise_record(raw, *IDENTITY)
    first, second = record.advice
    assert first == {"note": "kept", "cell": "sigmoid", "line": 0, "construct": "['import']",
                     "message": "imports torch \ufffd", "3": "an int key"}, first
    assert second == {"cell": "", "line": 0, "construct": "", "message": ""}, second
    assert record.policy == [{"cell": "", "line": 0, "construct": "", "message": "12"}], record.policy
    assert all(isinstance(key, str) for entry in record.advice + record.policy for key in entry)


def test_a_finding_keeps_only_string_keys_even_without_the_tree_cleaning():
    kept = finding({1: "int key", ("a",): "tuple key", "why": "string", "line": 3})
    assert kept == {"why": "string", "cell": "", "line": 3, "construct": "", "message": ""}, kept


def test_the_self_check_report_reads_a_finding_with_missing_fields_without_crashing():
    # a Record made without the boundary (an older caller): its findings may lack fields
    record = Record("ada", "01_demo", policy=[{"cell": "sigmoid"}], advice=[{}, "not a dict"])
    lines: list[str] = []
    report(record, {}, out=lines.append)
    text = "\n".join(lines)
    assert "NOT RUN: sigmoid, line ?: ?: ?" in text, text
    assert text.count("ADVICE: ?, line ?: ?: ?") == 2, text


def test_fields_of_the_wrong_shape_are_dropped_not_raised():
    """``tests``, ``answers`` and ``ignored_files`` of the wrong type (a list of odd items, a string,
    a number) leave those fields empty: the record is still typed, and ``load_record`` reads a
    hand-edited record rather than failing the gradebook that reads them all."""
    for tests, answers, ignored in ((["ab", 3], "xy", 7), ("tests", [["a", 1]], {"f": 1}), (3, 2.5, None)):
        record = normalise_record({"status": "graded", "tests": tests, "answers": answers,
                                   "ignored_files": ignored}, *IDENTITY)
        assert (record.tests, record.answers) == ({}, {}), (tests, answers)
        assert record.ignored_files == [], ignored


def test_a_prompt_number_is_a_non_negative_int_or_none():
    """``prompt_number`` as its docstring says: a bool, a negative number or a string from a kernel
    becomes None (the batch test sends strings only)."""
    from autograder.instructor.grading.boundary import prompt_number

    got = [prompt_number(v) for v in (0, 7, True, -1, "3", 2.0, None)]
    assert got == [0, 7, None, None, None, None, None], got
