"""The classroom hub's exchange without a hub: chapter names, the instructor's and the students' config,
a chapter released, fetched, submitted and collected (autograder/instructor/classroom/hub.py). A real
JupyterHub on loopback: tests/deploy/test_hub.py (`make test-hub`); the deploy's own config:
tests/deploy/test_exchange_config.py."""

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


@pytest.mark.slow  # nbgrader generates and releases the demo chapter (seconds)
def test_a_released_chapter_is_fetched_submitted_and_collected_where_make_grade_reads(tmp_path, monkeypatch):
    """`make hub-release` and `make hub-collect` without a hub, nbgrader's own student side (fetch,
    submit) between them, as a student's server runs it. The hub around it: tests/deploy/test_hub.py."""
    import nbformat
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
    from traitlets.config import Config

    from autograder.instructor.classroom.hub import collect, release
    from tests.instructor.demo_course import CHAPTER, make_demo_course, with_cell

    course, solution, untouched = make_demo_course(tmp_path)
    exchange, hub_course = tmp_path / "exchange", tmp_path / "hub" / "course"
    exchange.mkdir()
    [outbound] = release(course, [CHAPTER], hub_course, exchange, out=lambda _: None)
    released = nbformat.read(str(outbound / f"{CHAPTER}.ipynb"), as_version=4)
    assert [c.source for c in released.cells] == [c.source for c in untouched.cells], "the student version"

    home = tmp_path / "ada"
    home.mkdir()
    monkeypatch.chdir(home)
    student = Config()
    student.CourseDirectory.update(course_id="backprop-lab", root=str(home), student_id="ada",
                                   assignment_id=CHAPTER)
    student.Exchange.update(root=str(exchange), path_includes_course=False)
    server = {"coursedir": CourseDirectory(config=student), "authenticator": Authenticator(config=student),
              "config": student}
    ExchangeFetchAssignment(**server).start()
    fetched = home / CHAPTER / f"{CHAPTER}.ipynb"
    answer = "def square(x):\n    return x * x\n"
    nbformat.write(with_cell(nbformat.read(str(fetched), as_version=4), "square", answer), str(fetched))
    ExchangeSubmit(**server).start()

    said: list[str] = []
    notebooks = collect([CHAPTER], hub_course, exchange, out=said.append)
    assert notebooks == [hub_course.resolve() / "submitted" / "ada" / CHAPTER / f"{CHAPTER}.ipynb"], said
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
             for c in nbformat.read(str(notebooks[0]), as_version=4).cells}
    assert cells["square"] == answer, "the student's saved answer is what make grade will read"
