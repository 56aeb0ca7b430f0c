"""The "Check my work" button at the end of each chapter: the grader's verdict from JupyterLab.

    check_my_work()      # last cell of a chapter

Clicking the button runs ``make check`` on this chapter's notebook as saved on disk
(``python -m autograder.instructor.grading.selfcheck``, in a separate process: notebooks
never import the instructor's tools) and shows what it prints. Nothing runs until
the button is clicked, so "Run All" stays fast, and it does nothing while a notebook
is being graded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .i18n import _

__all__ = ["check_my_work"]


def _notebook_path(chapter: str | None) -> Path:
    folder = Path.cwd()  # JupyterLab runs a notebook's kernel in the notebook's folder
    chapter = chapter or folder.name
    return folder / f"{chapter}.ipynb"


def check_my_work(chapter: str | None = None) -> None:
    """Display a button that grades this chapter's saved notebook, hidden tests included."""
    if os.environ.get("BACKPROP_LAB_GRADING"):
        print(_("(The self-check is not offered while a notebook is being graded.)"))
        return
    from IPython.display import display
    from ipywidgets import Button, Output, VBox

    path = _notebook_path(chapter)
    button = Button(description=_("Check my work"), tooltip=_("Grade the saved notebook as make grade would"))
    output = Output()

    def run(_button: Button) -> None:
        from IPython.display import Markdown

        output.clear_output()
        with output, tempfile.TemporaryDirectory() as scratch:
            print(_("Checking {notebook} as saved on disk (save first: Ctrl-S). This takes from a few "
                    "seconds to a minute (docs/SPEED.md) ...").format(notebook=path.name), flush=True)
            answers_file = Path(scratch) / "answers.json"
            result = subprocess.run(
                [sys.executable, "-m", "autograder.instructor.grading.selfcheck", str(path), "--quiet-start",
                 "--answers-file", str(answers_file)],
                capture_output=True, text=True, cwd=path.parent)
            print(result.stdout or result.stderr[-3000:])
            answers = json.loads(answers_file.read_text()) if answers_file.is_file() else {}
            for grade_id, answer in answers.items():  # Markdown, so that its maths is typeset
                heading = _("**Model answer, {grade_id}**").format(grade_id=grade_id)
                display(Markdown(f"{heading}\n\n{answer}"))

    button.on_click(run)
    display(VBox([button, output]))
