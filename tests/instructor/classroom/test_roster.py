"""`make roster FILE=students.csv` fills the gradebook's students; `make grade` compares (roster.py)."""

from __future__ import annotations

import unicodedata

import pytest

from autograder.instructor.classroom.roster import (
    RosterError,
    id_problem,
    main,
    parse_roster,
    roster_ids,
    roster_warnings,
)
from autograder.instructor.grading.opengradebook import open_gradebook

from ..gradebooks import autograde, make_assignment, new_gradebook


def test_a_roster_with_a_header_in_any_order_and_no_email():
    students = parse_roster("last_name,id,first_name\nLovelace,ada,Ada\nHopper,grace,Grace\n")
    assert [(s.id, s.first_name, s.last_name, s.email) for s in students] == [
        ("ada", "Ada", "Lovelace", ""), ("grace", "Grace", "Hopper", "")]


def test_a_roster_without_a_header_spaces_blank_lines_and_a_bom():
    students = parse_roster("\ufeff ada , Ada , Lovelace , ada@example.org\n\n bob,Bob,Smith\n")
    assert [(s.id, s.email) for s in students] == [("ada", "ada@example.org"), ("bob", "")]


@pytest.mark.parametrize("bad_id, why", [
    ("ad*a", "*"), ("a?", "?"), ("a[1]", "["), ("x/../../etc", "/"), (".hidden", "starts with '.'"),
    ("", "empty"), ("ada lovelace", "whitespace"), ("-ada", "starts with '-'"),
])
def test_unusable_ids_are_refused_with_the_line(bad_id, why):
    text = f"id,first_name,last_name,email\nada,Ada,Lovelace,\n{bad_id},X,Y,\n"
    with pytest.raises(RosterError) as error:
        parse_roster(text, "students.csv")
    assert "students.csv, line 3" in str(error.value) and why in str(error.value)
    assert id_problem(bad_id)


def test_duplicates_wrong_column_counts_and_unquotable_names_name_the_line():
    with pytest.raises(RosterError, match=r"line 3: the id 'ada' is already on line 1"):
        parse_roster("ada,Ada,L\nbob,B,S\nada,A,L\n")
    with pytest.raises(RosterError, match=r"line 2: expected 4 columns .* found 2"):
        parse_roster("id,first_name,last_name,email\nada,Ada\n")
    with pytest.raises(RosterError, match=r"line 2: last_name 'Smith, Jr.' contains a comma"):
        parse_roster('id,first_name,last_name\nbob,Bob,"Smith, Jr."\n')
    with pytest.raises(RosterError, match="header lacks last_name"):
        parse_roster("id,first_name,surname\nada,Ada,L\n")
    with pytest.raises(RosterError, match="no students"):
        parse_roster("\n\n")


def test_make_roster_fills_the_gradebook_and_keeps_existing_grades(tmp_path, capsys):
    course = tmp_path / "grading"
    make_assignment(course)
    autograde(course, "ada", {})  # graded before the roster was loaded
    roster = tmp_path / "students.csv"
    roster.write_text("id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\n"
                      "bob,Bob,Smith,\n")
    assert main([str(roster), "--out", str(course)]) == 0
    assert "2 students loaded" in capsys.readouterr().out
    with open_gradebook(course) as gradebook:
        ada = gradebook.find_student("ada")
        assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@example.org")
        assert gradebook.find_student("bob").last_name == "Smith"
        assert gradebook.find_submission("00_demo", "ada").code_score == 3
    assert roster_ids(course) == ["ada", "bob"]
    assert list((course / "backups").glob("gradebook-*.db")), "the gradebook was backed up first"
    # A second roster updates the names and says who left.
    roster.write_text("ada,Ada,King,\n")
    assert main([str(roster), "--out", str(course)]) == 0
    assert "no longer on the roster (kept in the gradebook with their grades): bob" in \
        capsys.readouterr().out
    with open_gradebook(course) as gradebook:
        assert gradebook.find_student("ada").last_name == "King"


def test_a_bad_roster_changes_nothing(tmp_path, capsys):
    course = tmp_path / "grading"
    new_gradebook(course)
    roster = tmp_path / "students.csv"
    roster.write_text("ada,Ada,Lovelace\nb*b,Bob,Smith\n")
    assert main([str(roster), "--out", str(course)]) == 2
    assert f"{roster}, line 2" in capsys.readouterr().out
    with open_gradebook(course) as gradebook:
        assert gradebook.students == []
    assert main([str(tmp_path / "nope.csv"), "--out", str(course)]) == 2


def test_roster_warnings_name_strangers_and_absentees_per_chapter(tmp_path):
    course = tmp_path / "grading"
    ch = "01_demo"
    assert roster_warnings(course, [("ada", ch)], [ch]) == [], "no roster loaded: nothing to compare"
    new_gradebook(course)
    roster = tmp_path / "students.csv"
    roster.write_text("ada,Ada,L\nbob,Bob,S\ncy,Cy,T\n")
    main([str(roster), "--out", str(course)], out=lambda *_: None)
    warnings = roster_warnings(course, [("ada", ch), ("adaa", ch), ("zed", ch)], [ch])
    assert len(warnings) == 2
    assert warnings[0].startswith("not on the roster (2): adaa, zed")
    assert warnings[1].startswith(f"{ch}: on the roster, no submission in this folder or an earlier run (2): "
                                  "bob, cy")
    assert roster_warnings(course, [("ada", ch), ("bob", ch), ("cy", ch)], [ch]) == []


def test_a_second_folder_does_not_call_students_graded_earlier_missing(tmp_path):
    """Issue #19: a second folder (chapter 2) said chapter-1 students were missing."""
    course = tmp_path / "grading"
    new_gradebook(course)
    roster = tmp_path / "students.csv"
    roster.write_text("ada,Ada,L\nbob,Bob,S\n")
    main([str(roster), "--out", str(course)], out=lambda *_: None)
    (course / "records" / "01_a").mkdir(parents=True)
    (course / "records" / "01_a" / "bob.json").write_text("{}")
    assert roster_warnings(course, [("ada", "01_a")], ["01_a"]) == [], "bob was graded by an earlier run"
    warnings = roster_warnings(course, [("ada", "02_b")], ["02_b"])
    assert warnings == ["02_b: on the roster, no submission in this folder or an earlier run (1): bob "
                        "(listed as missing in summary.csv)"]


@pytest.mark.parametrize("good_id", ["José", "Jose\u0301", "李雷", "ada.lovelace", "a_b-c@x+1", "Zoë"])
def test_unicode_letters_and_digits_are_ids_nfc_normalised(good_id):
    assert id_problem(good_id) is None
    (student,) = parse_roster(f"{good_id},A,B\n")
    assert student.id == unicodedata.normalize("NFC", good_id)


@pytest.mark.parametrize("bad_id, why", [
    ("o'brien", "(apostrophe)"), ("a b", "whitespace"), ("a\tb", "whitespace"), ("a\x01", "control"),
    ("..", "starts with '.'"), ("a\\b", "path separator"), ("x" * 65, "65 characters"),
    ("a\udcffb", "not UTF-8 (0xff)"),
])
def test_unsafe_ids_are_refused_and_the_message_states_the_rule(bad_id, why):
    problem = id_problem(bad_id)
    assert problem and why in problem and "Unicode letters or digits" in problem, problem
