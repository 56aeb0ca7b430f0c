"""Helpers every room shares, written once: nbgrader cell kinds, hashes, JSON files.

The cell predicates are nbgrader's own (``nbgrader.utils``: ``is_grade``, ``is_solution``,
``determine_grade``), taken by ``nbgrader_utils()`` without the ``nbgrader`` package's
``__init__``, which loads its server extensions, SQLAlchemy and nbconvert: 1.1 s of CPU in every
``make check`` and every grading process, which need none of them. On top of them, the kinds this
course needs by name:

    test cell      graded code, not a solution: ``### BEGIN HIDDEN TESTS`` lives here
    solution cell  the student's answer (code), or a written answer (markdown, graded by hand)
    written answer a manually graded markdown solution cell
    plain cell     an instructor's cell without nbgrader metadata: the student may edit it
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: T's bridge imports this module (student_cells) without nbformat
    from nbformat.notebooknode import NotebookNode


def nbgrader_meta(cell: NotebookNode) -> dict[str, Any]:
    """The cell's nbgrader metadata, ``{}`` for a plain cell, or for one whose ``nbgrader`` is not
    a mapping (nbformat's schema allows any value there: a submission's bytes)."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


@cache
def nbgrader_utils() -> ModuleType:
    """``nbgrader.utils``, nbgrader's own code, loaded without running ``nbgrader/__init__.py``.

    The module imports only the standard library, dateutil, tornado.log, setuptools and nbformat
    (tests/instructor/test_cells.py checks that it still has no relative import). Where the
    package is loaded already (the instructor's tools), its module is used as it is.
    """
    if "nbgrader.utils" in sys.modules:
        return sys.modules["nbgrader.utils"]
    package = importlib.util.find_spec("nbgrader")
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError("nbgrader is not installed: `make env-grader` installs it")
    path = Path(package.submodule_search_locations[0]) / "utils.py"
    spec = importlib.util.spec_from_file_location("backprop_lab_nbgrader_utils", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_grade(cell: NotebookNode) -> bool:
    """nbgrader's ``is_grade``: the cell carries points (a test, or an answer graded by hand)."""
    return bool(nbgrader_utils().is_grade(cell))


def is_solution(cell: NotebookNode) -> bool:
    """nbgrader's ``is_solution``: the student writes in this cell."""
    return bool(nbgrader_utils().is_solution(cell))


def grade_id(cell: NotebookNode) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_test(cell: NotebookNode) -> bool:
    """Graded code that is not a solution: a test cell."""
    return cell.cell_type == "code" and bool(is_grade(cell)) and not is_solution(cell)


def is_answer(cell: NotebookNode) -> bool:
    """A written answer: a manually graded markdown solution cell."""
    return cell.cell_type == "markdown" and bool(is_grade(cell)) and bool(is_solution(cell))


def is_solution_code(cell: NotebookNode) -> bool:
    """An exercise's code cell, where the student writes the answer."""
    return cell.cell_type == "code" and bool(is_solution(cell))


def is_plain(cell: NotebookNode) -> bool:
    """An instructor's cell without nbgrader metadata: the student may edit it."""
    return not grade_id(cell)


def cell_label(cell: NotebookNode, index: int) -> str:
    """How messages name a cell: its grade id, else its position."""
    return f"cell {grade_id(cell)}" if grade_id(cell) else f"cell {index}"


def sha256(data: bytes | str) -> str:
    """The hex SHA-256 of bytes, or of text as UTF-8 (lone surrogates replaced, never an error)."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace").encode()
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON in ``path``, or ``default`` when there is no such file."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half.

    The temporary file sits beside the target (a rename is atomic only within one file system)
    and is flushed to disk before the rename, so a crash cannot leave a torn file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
