"""Which cells of a merged notebook run in S, and what S is given to run (the worker's side).

- ``student_cells``: every answer (solution) code cell, every cell the student added, every
  instructor cell they edited. Everything else (setup, demos, tests, untouched instructor cells)
  is the instructor's and runs in T.
- ``without_ipython``: S is plain Python. A cell that is not valid Python because of IPython
  lines (``%timeit``, ``!ls``, ``x = !pwd``, ``f?``) runs without them, each replaced by ``pass``
  and named in a note the feedback shows; a cell magic (``%%time``) is not run at all. A cell
  that is valid Python is never changed: IPython's prefilter does not exist in S, so a line such
  as ``ls -la`` is the Python expression it reads as.
- ``instructor_names``: from the template, the names its cells bind in T: those bound by setup,
  locked and plain cells (never by a test cell, nor by a locked cell tagged ``tests-only``) may be
  sent to S as data when a student's cell reads them; those bound by a setup, locked or test cell
  are never rebound from S. A ``tests-only`` cell holds the tests' own helpers (references built
  with torch): sent to S, they would answer the exercise for the student.
- ``setup_imports``: the plain imports of the setup cell, each in its own ``try``, so S starts
  with ``np``, ``plt``, ``math`` and the course library's earlier modules, and silently without
  what it does not have (torch, the harness).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from nbformat.notebooknode import NotebookNode

IPYTHON_LINE = re.compile(r"^\s*([%!]|[\w.,\s()\[\]]+=\s*[%!])|\?\s*$")
TESTS_ONLY = "tests-only"  # a cell tag: its names stay in T (docs/AUTHORING.md)
NOTE = "# (not run at grading, line {line}: {text!r} is IPython syntax, and grading runs plain Python)"


def _meta(cell: NotebookNode) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def student_cells(nb: NotebookNode, student_written: set[int]) -> list[int]:
    return [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and (_meta(cell).get("solution") or index in student_written)]


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte
        return False
    return True


def without_ipython(source: str) -> tuple[str, list[str]]:
    """The cell as S runs it, and a note for each IPython line left out."""
    if _parses(source):
        return source, []
    lines = source.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        return "", [NOTE.format(line=1, text=first[:60]) + " (a cell magic: the whole cell)"]
    notes, kept = [], []
    for number, line in enumerate(lines, start=1):
        if IPYTHON_LINE.search(line) and not line.lstrip().startswith("#"):
            indent = line[: len(line) - len(line.lstrip())]
            kept.append(f"{indent}pass")
            notes.append(NOTE.format(line=number, text=line.strip()[:60]))
        else:
            kept.append(line)
    return "\n".join(kept), notes


def setup_imports(template: NotebookNode) -> str:
    """Each import of the setup cell, alone in a ``try`` (what S cannot import is skipped)."""
    setup = next((c for c in template.cells if _meta(c).get("grade_id") == "setup"), None)
    if setup is None:
        return ""
    try:
        tree = ast.parse(setup.source)
    except SyntaxError:
        return ""
    blocks = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            blocks.append("try:\n    " + ast.unparse(node) + "\nexcept ImportError:\n    pass")
    return "\n".join(blocks)


def bound_names(source: str) -> set[str]:
    """Names a cell may bind in the module namespace (over-counted: comprehension variables too)."""
    source, _ = without_ipython(source)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(child.name)
                # a function's ``global x`` binds x here; its other names are its own
                names.update(n for g in ast.walk(child) if isinstance(g, ast.Global) for n in g.names)
                todo.extend(child.decorator_list)
                continue
            if isinstance(child, ast.Lambda):
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store | ast.Del):
                names.add(child.id)
            elif isinstance(child, ast.alias):
                names.add((child.asname or child.name).split(".")[0])
            elif isinstance(child, ast.MatchAs | ast.MatchStar) and child.name:
                names.add(child.name)
            elif isinstance(child, ast.ExceptHandler) and child.name:
                names.add(child.name)
            todo.append(child)
    return names


def instructor_names(template: NotebookNode) -> tuple[list[str], list[str]]:
    """``(sendable, protected)``: names S may be given from T (bound by the template's setup, locked
    and plain cells, and by none of its test or ``tests-only`` cells: a test's input and helpers
    stay T's), and names S may never
    rebind in T (bound by a setup, locked or test cell). A plain cell's names are not protected: the
    student may edit that cell, which then runs in S and must bind them in T itself."""
    in_tests: set[str] = set()
    locked: set[str] = set()
    plain: set[str] = set()
    for cell in template.cells:
        meta = _meta(cell)
        if cell.cell_type != "code" or meta.get("solution"):
            continue
        names = bound_names(cell.source)
        tests_only = TESTS_ONLY in (cell.get("metadata", {}).get("tags") or [])
        kind = in_tests if meta.get("grade") or tests_only else locked if meta.get("grade_id") else plain
        kind.update(names)
    private = {name for name in in_tests | locked | plain if name.startswith("_")}
    return sorted((locked | plain) - in_tests - private), sorted(in_tests | locked)


def label(cell: NotebookNode, index: int) -> str:
    grade_id = _meta(cell).get("grade_id")
    return f"cell {grade_id}" if grade_id else f"cell {index}"


def cells_file(template: NotebookNode, nb: NotebookNode, indices: list[int]) -> dict[str, Any]:
    """What T's bridge reads: the setup imports and, per cell index, the source S runs."""
    cells = {}
    for index in indices:
        text = nb.cells[index].source.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
        source, notes = without_ipython(text)
        cells[str(index)] = {"source": source, "notes": notes, "label": label(nb.cells[index], index)}
    sendable, protected = instructor_names(template)
    return {"setup": setup_imports(template), "cells": cells, "sendable": sendable, "protected": protected}
