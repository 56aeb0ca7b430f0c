"""records.py: the typed record between the stages, and its JSON on disk (unchanged by the type)."""

from __future__ import annotations

import json

from autograder.instructor.grading.boundary import load_record
from autograder.instructor.grading.records import STATUSES, Record

# A record as `make grade` wrote it before isolation, advice and student_restarts existed.
OLD_RECORD = {"student": "ada", "chapter": "01_demo", "status": "graded", "reason": "",
              "submission_sha256": "ab" * 32, "release_sha256": "cd" * 32, "sandboxed": True,
              "tests": {"relu__tests": {"points": 2.0, "score": 1.0, "message": "relu: 1 of 5 differ"}},
              "answers": {"q_why": {"points": 1.0, "text_sha256": "ef" * 32}},
              "policy": [], "ignored_files": [], "seconds": 4.5}


def test_the_json_of_a_record_is_the_dict_it_always_was():
    record = Record("ada", "01_demo", tests={"t": {"points": 1.0, "score": 1.0, "message": ""}})
    data = json.loads(json.dumps(record.to_dict()))
    assert Record.from_dict(data) == record
    newer = {"isolation", "advice", "student_restarts", "overrides"}
    assert set(data) == set(OLD_RECORD) | newer, sorted(data)


def test_an_old_record_on_disk_is_still_read_with_the_new_fields_at_their_defaults(tmp_path):
    path = tmp_path / "records" / "01_demo" / "ada.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({**OLD_RECORD, "a_field_from_the_future": 1}))
    for record in (load_record(path), Record.from_dict({**OLD_RECORD, "a_field_from_the_future": 1})):
        assert isinstance(record, Record)
        assert (record.student, record.chapter, record.status, record.seconds) == (
            "ada", "01_demo", "graded", 4.5)
        assert (record.code_score, record.max_code_score) == (1.0, 2.0)
        assert (record.isolation, record.advice, record.student_restarts, record.overrides) == (
            "kernel", [], 0, [])
        assert record.answers["q_why"]["text_sha256"] == "ef" * 32


def test_a_torn_or_foreign_file_is_no_record(tmp_path):
    torn, listed = tmp_path / "torn.json", tmp_path / "listed.json"
    torn.write_text('{"student": "torn", "tests": {')
    listed.write_text("[1, 2]")
    assert load_record(torn) is None and load_record(listed) is None
    assert load_record(tmp_path / "absent.json") is None


def test_a_hand_edited_record_is_typed_on_reading(tmp_path):
    path = tmp_path / "records" / "01_demo" / "bob.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"chapter": "01_demo", "status": "finished?", "seconds": "fast",
                                "tests": {"t": {"points": "2", "score": 9}}, "policy": ["no"]}))
    record = load_record(path)
    assert record.student == "bob", "the file's name when the record names no student"
    assert record.status == "error" and "unknown status" in record.reason, record.reason
    assert record.status in STATUSES
    assert (record.seconds, record.tests["t"]["score"], record.policy) == (0.0, 2.0, [])
