"""Notebook files: read, write canonically, execute in place, and a percent-format round trip.

Authors may write a chapter as a "percent" script and convert it, or edit the
``.ipynb`` in JupyterLab; ``solutions/`` holds the ``.ipynb`` either way. In the
script, each cell starts with a header line:

    # %% [markdown]                          prose
    # %%                                     plain code
    # %% solution id=sigmoid                 autograded answer (BEGIN/END SOLUTION inside)
    # %% tests id=sigmoid__tests points=2    autograder tests (locked; may hold hidden tests)
    # %% [markdown] answer id=q1 points=2    manually graded written answer
    # %% readonly id=setup                   locked cell, restored at grading
    # %% tags=nbval-ignore-output            (any header may add tags=a,b)

    python -m autograder.instructor.authoring.notebooks py2nb chapter.py solutions/01_x/01_x.ipynb
    python -m autograder.instructor.authoring.notebooks nb2py solutions/01_x/01_x.ipynb chapter.py
    python -m autograder.instructor.authoring.notebooks execute solutions/01_x/01_x.ipynb
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.instructor.authoring.preprocessors import strip_volatile_metadata

HEADER = re.compile(r"^# %%(?P<rest>.*)$")


def read(path: str | Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: NotebookNode, path: str | Path) -> None:
    """Write in nbformat's canonical layout (what JupyterLab writes too)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def _nbgrader_metadata(kind: str, grade_id: str, points: float | None) -> dict:
    base = {"grade_id": grade_id, "schema_version": 3}
    if kind == "solution":
        return {**base, "grade": False, "solution": True, "locked": False}
    if kind == "tests":
        return {**base, "grade": True, "solution": False, "locked": True, "points": points or 1}
    if kind == "answer":
        return {**base, "grade": True, "solution": True, "locked": False, "points": points or 1}
    if kind == "readonly":
        return {**base, "grade": False, "solution": False, "locked": True}
    raise ValueError(f"unknown cell kind {kind!r}")


def py_to_notebook(text: str, existing: NotebookNode | None = None) -> NotebookNode:
    """Build a notebook from percent-format text, keeping outputs of unchanged code cells."""
    old_outputs = {}
    if existing is not None:
        for cell in existing.cells:
            if cell.cell_type == "code":
                old_outputs[cell.source] = (cell.outputs, cell.execution_count)
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        match = HEADER.match(line)
        if match:
            cells.append((match["rest"].strip(), []))
        elif cells:
            cells[-1][1].append(line)
    nb = nbformat.v4.new_notebook()
    for number, (header, lines) in enumerate(cells):
        while lines and not lines[-1].strip():
            lines.pop()
        markdown = header.startswith("[markdown]")
        words = shlex.split(header.removeprefix("[markdown]"))
        options = dict(w.split("=", 1) for w in words if "=" in w)
        kinds = [w for w in words if "=" not in w]
        if markdown:
            source = "\n".join(re.sub(r"^# ?", "", x) for x in lines)
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            source = "\n".join(lines)
            cell = nbformat.v4.new_code_cell(source)
            if source in old_outputs:
                cell.outputs, cell.execution_count = old_outputs[source]
        cell.id = options.get("id", f"cell-{number:03d}")[:64]
        if kinds:
            points = float(options["points"]) if "points" in options else None
            if points is not None and points.is_integer():
                points = int(points)
            cell.metadata["nbgrader"] = _nbgrader_metadata(kinds[0], options["id"], points)
        if "tags" in options:
            cell.metadata["tags"] = options["tags"].split(",")
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {}
    return strip_volatile_metadata(nb)


def notebook_to_py(nb: NotebookNode) -> str:
    """The inverse of ``py_to_notebook`` (outputs are not kept)."""
    parts = []
    for cell in nb.cells:
        words = ["[markdown]"] if cell.cell_type == "markdown" else []
        meta = cell.metadata.get("nbgrader")
        if meta:
            if meta.get("solution") and meta.get("grade"):
                kind = "answer"
            elif meta.get("solution"):
                kind = "solution"
            elif meta.get("grade"):
                kind = "tests"
            else:
                kind = "readonly"
            words += [kind, f"id={meta['grade_id']}"]
            if meta.get("grade"):
                words.append(f"points={meta.get('points', 1)}")
        if cell.metadata.get("tags"):
            words.append("tags=" + ",".join(cell.metadata["tags"]))
        header = "# %%" + ("" if not words else " " + " ".join(words))
        if cell.cell_type == "markdown":
            body = "\n".join(("# " + x).rstrip() for x in cell.source.splitlines())
        else:
            body = cell.source
        parts.append(header + "\n" + body)
    return "\n\n".join(parts) + "\n"


def execute_in_place(path: str | Path, timeout: int = 600) -> None:
    """Run every cell (in the notebook's folder), then save outputs without volatile metadata."""
    from autograder.instructor.execute import RobustNotebookClient

    path = Path(path)
    nb = read(path)
    RobustNotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    write(strip_volatile_metadata(nb), path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("py2nb", help="percent script -> notebook (keeps outputs of unchanged cells)")
    p.add_argument("script")
    p.add_argument("notebook")
    p = sub.add_parser("nb2py", help="notebook -> percent script")
    p.add_argument("notebook")
    p.add_argument("script")
    p = sub.add_parser("execute", help="execute notebooks in place and strip volatile metadata")
    p.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "py2nb":
        target = Path(args.notebook)
        existing = read(target) if target.exists() else None
        write(py_to_notebook(Path(args.script).read_text(), existing), target)
    elif args.command == "nb2py":
        Path(args.script).write_text(notebook_to_py(read(args.notebook)))
    else:
        for notebook in args.notebooks:
            print(f"executing {notebook}", flush=True)
            execute_in_place(notebook)


if __name__ == "__main__":
    main()
