"""Every course folder gets the same nbgrader configuration (autograder/instructor/config.py)."""

from __future__ import annotations

from traitlets.config import Config

from autograder.instructor.authoring.preprocessors import HideHiddenTests, StripVolatileMetadata
from autograder.instructor.config import CODE_STUB, COURSE_ID, configure
from autograder.instructor.nbgrader_execute import RobustExecute


def test_configure_roots_the_course_and_its_gradebook_in_the_folder(tmp_path):
    c = configure(Config(), tmp_path / "course", source="src", release="out", cell_timeout=7)
    root = (tmp_path / "course").resolve()
    assert c.CourseDirectory.course_id == COURSE_ID and c.CourseDirectory.root == str(root)
    assert (c.CourseDirectory.source_directory, c.CourseDirectory.release_directory) == ("src", "out")
    assert c.CourseDirectory.db_url == f"sqlite:///{root / 'gradebook.db'}"
    assert (c.Execute.timeout, c.RobustExecute.timeout) == (7, 7), "both executors stop a runaway cell"
    assert c.ClearSolutions.code_stub == {"python": CODE_STUB}


def test_configure_adds_the_courses_own_preprocessors_at_each_stage(tmp_path):
    c = configure(Config(), tmp_path)
    assert c.GenerateAssignment.preprocessors[-1] is StripVolatileMetadata, "the release must repeat"
    assert c.Autograde.autograde_preprocessors[0] is RobustExecute
    assert HideHiddenTests in c.GenerateFeedback.preprocessors, "feedback must not show hidden tests"
    assert c.OverwriteCells.add_missing_cells is True
