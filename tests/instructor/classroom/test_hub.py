"""The classroom hub's exchange without a hub: chapter names, the instructor's and the students' config
(autograder/instructor/classroom/hub.py). A real JupyterHub on loopback: tests/deploy/test_hub.py
(`make test-hub`); the deploy's own config: tests/deploy/test_exchange_config.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.instructor.classroom.hub import (
    HubError,
    exchange_config,
    resolve_chapters,
    write_student_config,
)
from autograder.instructor.course import Course
from tests.configs import load

REPO = Path(__file__).resolve().parents[3]
COURSE = Course(REPO)


def test_chapters_are_named_by_id_or_number():
    ids = COURSE.chapter_ids()
    assert resolve_chapters(COURSE, []) == ids
    assert resolve_chapters(COURSE, ["1", "02"]) == ids[:2]
    assert resolve_chapters(COURSE, [ids[2]]) == [ids[2]]
    with pytest.raises(HubError, match="no such chapter"):
        resolve_chapters(COURSE, ["99"])


def test_the_instructor_config_names_the_course_and_the_exchange(tmp_path):
    config = exchange_config(tmp_path / "course", tmp_path / "exchange")
    assert config.CourseDirectory.course_id == "backprop-lab"
    assert config.CourseDirectory.release_directory == "release"
    assert config.Exchange.root == str(tmp_path / "exchange")


def test_students_config_points_at_the_exchange_and_switches_the_formgrader_off(tmp_path, monkeypatch):
    write_student_config(tmp_path, Path("/srv/x"))
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    config = load(tmp_path / "nbgrader_config.py")
    assert config.CourseDirectory.course_id == "backprop-lab" and config.Exchange.root == "/srv/x"
    assert "student_id" not in config.CourseDirectory  # a class: the unix user submits
    extensions = json.loads((tmp_path / "jupyter_server_config.json").read_text())["ServerApp"]
    assert extensions["jpserver_extensions"]["nbgrader.server_extensions.formgrader"] is False
    write_student_config(tmp_path, Path("/srv/x"), hub_user_as_student=True)
    assert load(tmp_path / "nbgrader_config.py").CourseDirectory.student_id == "ada"
