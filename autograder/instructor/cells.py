"""Helpers every room shares, written once: nbgrader cell kinds, hashes, JSON files.

The cell predicates follow nbgrader's own (``nbgrader.utils.is_grade``, ``is_solution``,
``is_locked``) and add the kinds this course needs by name:

    test cell      graded code, not a solution: ``### BEGIN HIDDEN TESTS`` lives here
    solution cell  the student's answer (code), or a written answer (markdown, graded by hand)
    written answer a manually graded markdown solution cell
    plain cell     an instructor's cell without nbgrader metadata: the student may edit it
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader.utils import is_grade, is_solution


def nbgrader_meta(cell: NotebookNode) -> dict[str, Any]:
    """The cell's nbgrader metadata, ``{}`` for a plain cell."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


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
