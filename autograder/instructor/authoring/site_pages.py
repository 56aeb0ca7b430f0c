"""Each page of the site (site.py): the chapter's student version with the reference solutions
injected, executed (in the edition's language), made static and cached; the pages run one process
per core.

1. every solution cell's code is taken from ``solutions/`` by its nbgrader ``grade_id``
   (``### BEGIN/END SOLUTION`` lines dropped), and the student notebook is executed with it, so
   figures, tables and checks have outputs;
2. the page then shows the student's stub in that cell (``stub_for_page``).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import os
import re
import time
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.instructor.authoring.release import generate
from autograder.instructor.authoring.site_static import PRELUDE_TAG, make_static
from autograder.instructor.cells import grade_id, is_solution_code
from autograder.instructor.course import Course

SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
STUB_RAISE = re.compile(r"^\s*raise NotImplementedError(\(\))?\s*$")
# The page says what a stub is; the cell shows the signature, docstring and this line.
STUB_NOTE = "# YOUR CODE HERE"

# Run in the kernel before the chapter: a figure's text form describes it (titles,
# axis labels), and becomes its alt text on the page. The inline backend first: loading
# it (at the first figure) resets every formatter registered for Figure.
PRELUDE = '''\
def _site_describe_figures():
    import re

    import matplotlib.figure
    import matplotlib.pyplot as plt
    from IPython import get_ipython

    plt.close(plt.figure())

    def clean(text):
        return re.sub(r"\\s+", " ", text.replace("$", "").replace("\\\\", "")).strip()

    def describe(fig, printer, cycle):
        parts = []
        suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
        if suptitle:
            parts.append(clean(suptitle))
        panels = []
        for ax in fig.axes:
            title = ax.get_title() or ax.get_title(loc="left") or ax.get_title(loc="right")
            if title:
                panels.append(clean(title))
            elif ax.get_xlabel() and ax.get_ylabel():
                panels.append(clean(f"{ax.get_ylabel()} against {ax.get_xlabel()}"))
            elif ax.get_xlabel() or ax.get_ylabel():
                panels.append(clean(ax.get_xlabel() or ax.get_ylabel()))
        panels = [p for p in panels if p]
        if len(panels) > 1:
            parts.append(f"{len(panels)} panels: " + "; ".join(panels))
        elif panels:
            parts.append(panels[0])
        printer.text("Figure: " + ". ".join(parts) if parts else "<Figure>")

    def register(*args):
        get_ipython().display_formatter.formatters["text/plain"].for_type(matplotlib.figure.Figure, describe)

    register()
    # A later `%matplotlib inline` resets it again: register before every cell.
    get_ipython().events.register("pre_run_cell", register)


_site_describe_figures()
del _site_describe_figures
'''


# -- preparing a chapter -------------------------------------------------------------------

def solution_code(solution_nb: NotebookNode) -> dict[str, str]:
    """grade_id -> the solution cell's code, without the BEGIN/END SOLUTION lines."""
    return {
        grade_id(cell): "\n".join(
            line for line in cell.source.splitlines() if not SOLUTION_MARKER.match(line))
        for cell in solution_nb.cells if is_solution_code(cell)
    }


def stub_for_page(source: str) -> str:
    """The student's stub as the page shows it: without the ``raise NotImplementedError()``, or
    with ``pass`` in its place where a body would be left with only a comment (the page must stay
    valid Python: the Chinese edition's pages find docstrings and comments with ``ast``)."""
    lines = [line for line in source.splitlines() if not STUB_RAISE.match(line)]
    stub = "\n".join(lines).rstrip() or STUB_NOTE
    try:
        ast.parse(stub)
    except SyntaxError:
        stub = "\n".join(re.sub(r"raise NotImplementedError(\(\))?", "pass", line) if STUB_RAISE.match(line)
                         else line for line in source.splitlines()).rstrip()
    return stub


def inject_solutions(student_nb: NotebookNode, solution_nb: NotebookNode) -> NotebookNode:
    """A copy of the student notebook that runs: reference code in every solution cell.

    The student's stub is kept in the cell's metadata (``site_stub``) for the page.
    """
    solutions = solution_code(solution_nb)
    nb = copy.deepcopy(student_nb)
    for cell in nb.cells:
        if not is_solution_code(cell):
            continue
        cell_id = grade_id(cell)
        if cell_id not in solutions:
            raise KeyError(f"solution cell {cell_id!r} of the student version is not in solutions/")
        cell.metadata["site_stub"] = stub_for_page(cell.source)
        cell.source = solutions[cell_id]
    prelude = nbformat.v4.new_code_cell(PRELUDE, metadata={"tags": [PRELUDE_TAG]})
    nb.cells.insert(0, prelude)
    return nb


def execute(nb: NotebookNode, cwd: Path, timeout: int = 600, language: str = "") -> None:
    """Run ``nb`` in a kernel started in ``cwd``; ``language`` (an edition, ``zh``): the language the
    kernel answers in (``BACKPROP_LAB_LANG``, autograder/i18n.py), so its figures and prints are too."""
    from autograder.instructor.execute import RobustNotebookClient

    env = {**os.environ, "BACKPROP_LAB_LANG": language} if language else None
    RobustNotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                         resources={"metadata": {"path": str(cwd)}}).execute(**({"env": env} if env else {}))


# -- making a page static -----------------------------------------------------------------

def _fingerprint(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def cached_page(course: Course, chapter: str, cache: Path, edition: str = "",
                catalog: Path | None = None) -> Path:
    """Where the executed page is kept: named by the chapter's solution, the package and the catalog."""
    package = Path(__file__).resolve().parents[2]  # autograder/
    inputs = [course.solutions / chapter / f"{chapter}.ipynb", package]
    inputs += [catalog, *sorted((package / "locale").rglob("*.mo"))] if catalog else []
    name = f"{edition}-{chapter}" if edition else chapter
    return cache / f"{name}-{_fingerprint(*inputs)}.ipynb"


def prepare_chapter(course: Course, chapter: str, work: Path, cache: Path, edition: str = "",
                    catalog: Path | None = None) -> NotebookNode:
    """The chapter's page notebook, from the cache when no input changed.

    ``edition`` (``zh``) with its chapter ``catalog`` (``translations/<locale>/NN_x.po``): the page of
    that edition, translated before it runs (as ``make release --editions`` translates) and run in
    its language, so its figures, printed lines and widgets are in that language too."""
    from autograder.instructor.authoring.translations import read_catalog, write_translated

    solution = course.solutions / chapter / f"{chapter}.ipynb"
    name = f"{edition}-{chapter}" if edition else chapter
    cached = cached_page(course, chapter, cache, edition, catalog)
    if cached.exists():
        return nbformat.read(str(cached), as_version=4)
    started = time.monotonic()
    released = work / "release" / name  # a folder of its own: pages are prepared in parallel
    generate(released, course.solutions, [chapter])
    student = nbformat.read(str(released / chapter / f"{chapter}.ipynb"), as_version=4)
    if catalog is not None:
        student = write_translated(student, read_catalog(catalog, catalog.parent.name))
    nb = inject_solutions(student, nbformat.read(str(solution), as_version=4))
    run_dir = work / "run" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    execute(nb, run_dir, language=edition)
    nb = make_static(nb)
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(f"{name}-*.ipynb"):
        stale.unlink()
    nbformat.write(nb, str(cached))
    print(f"  {name}: executed in {time.monotonic() - started:.1f} s", flush=True)
    return nb


def _prepare_job(course: Course, job: tuple[str, str, Path | None], work: Path, cache: Path) -> NotebookNode:
    chapter, edition, catalog = job
    return prepare_chapter(course, chapter, work, cache, edition, catalog)


def prepare_all(course: Course, jobs: list[tuple[str, str, Path | None]], work: Path,
                cache: Path) -> list[NotebookNode]:
    """``prepare_chapter`` for every (chapter, edition, catalog), one process per core: each page runs
    its own kernel, and the twelve pages took 4 to 5 minutes one after another on 2 cores.
    ``BACKPROP_LAB_SITE_WORKERS`` sets how many run at once (1: in this process, one by one)."""
    workers = int(os.environ.get("BACKPROP_LAB_SITE_WORKERS") or os.cpu_count() or 1)
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        return [_prepare_job(course, job, work, cache) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    # spawn: a fresh interpreter per worker (no threads or sockets of this process inherited)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(partial(_prepare_job, course, work=work, cache=cache), jobs))
