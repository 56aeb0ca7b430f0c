"""The exchange's configuration without a hub: chapter names, students' config, the deploy config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.instructor.classroom.hub import (
    HubError,
    exchange_config,
    resolve_chapters,
    write_student_config,
)
from autograder.instructor.course import Course

REPO = Path(__file__).resolve().parents[2]
COURSE = Course(REPO)


def load(path: Path) -> Config:
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


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


def test_class_mode_needs_the_students_own_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_HUB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("BACKPROP_HUB_EXCHANGE", str(tmp_path / "exchange"))
    monkeypatch.delenv("BACKPROP_HUB_SINGLEUSER", raising=False)
    monkeypatch.setenv("BACKPROP_HUB_MODE", "class")
    with pytest.raises(SystemExit, match="BACKPROP_HUB_SINGLEUSER"):
        load(REPO / "deploy" / "jupyterhub_config.py")
    monkeypatch.setenv("BACKPROP_HUB_SINGLEUSER", "/opt/backprop-lab/bin/jupyterhub-singleuser")
    config = load(REPO / "deploy" / "jupyterhub_config.py")
    assert config.JupyterHub.authenticator_class == "jupyterhub.auth.PAMAuthenticator"
    assert config.Spawner.cmd == ["/opt/backprop-lab/bin/jupyterhub-singleuser"]
    monkeypatch.setenv("BACKPROP_HUB_MODE", "test")
    config = load(REPO / "deploy" / "jupyterhub_config.py")
    assert config.JupyterHub.authenticator_class == "jupyterhub.auth.DummyAuthenticator"
    assert config.JupyterHub.spawner_class == "jupyterhub.spawner.SimpleLocalProcessSpawner"
    assert "configurable-http-proxy" in config.ConfigurableHTTPProxy.command[0]
    student = load(tmp_path / "state" / "student-config" / "nbgrader_config.py")
    assert student.Exchange.root == str(tmp_path / "exchange")
