"""The course's nbgrader configuration, in one function shared by every course folder.

``nbgrader_config.py`` at the top of the repository calls ``configure`` for the
instructor's own course; ``release`` and ``grade`` call it for the temporary or
grading course folders they build, so that all of them behave alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

COURSE_ID = "backprop-lab"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
CELL_TIMEOUT_S = 30


def configure(c: Any, root: str | Path, source: str = "solutions", release: str = "chapters",
              cell_timeout: int = CELL_TIMEOUT_S) -> Any:
    """Fill the traitlets config ``c`` for a course rooted at ``root``."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        GetGrades,
        IgnorePattern,
        IncludeHeaderFooter,
        InstantiateTests,
        LimitOutput,
        LockCells,
        SaveAutoGrades,
        SaveCells,
    )

    from autograder.instructor.authoring.preprocessors import HideHiddenTests, StripVolatileMetadata
    from autograder.instructor.nbgrader_execute import RobustExecute

    root = Path(root).resolve()
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = source
    c.CourseDirectory.release_directory = release
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.enforce_metadata = True
    # nbgrader's own list, plus a last step that strips volatile metadata.
    c.GenerateAssignment.preprocessors = [
        IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutions, ClearOutput,
        CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme,
        ComputeChecksums, CheckCellMetadata, StripVolatileMetadata,
    ]
    # Grading: restore deleted test cells, stop runaway cells, and execute with the
    # executor that does not stall after widget traffic (see execute.py).
    c.Autograde.autograde_preprocessors = [
        RobustExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata,
    ]
    c.OverwriteCells.add_missing_cells = True
    c.Execute.timeout = cell_timeout
    c.Execute.interrupt_on_timeout = True
    c.RobustExecute.timeout = cell_timeout
    c.RobustExecute.interrupt_on_timeout = True
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
    return c
