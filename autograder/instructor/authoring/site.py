"""The course as a static site: ``make site`` writes ``build/site/``.

Each page is a student chapter as ``make release`` generates it from ``solutions/`` (never the
learner's working copy in ``chapters/``, which may hold their own answers), executed with the
reference solutions injected, then shown with the student's stubs again:

1. every solution cell's code is taken from ``solutions/`` by its nbgrader
   ``grade_id`` (``### BEGIN/END SOLUTION`` lines dropped), and the student
   notebook is executed with it, so figures, tables and checks have outputs;
2. the page shows the student's stub in that cell: signature, docstring and
   ``# YOUR CODE HERE``, without the ``raise NotImplementedError()`` line;
   test cells are the student's (no hidden tests), written answers the student's
   prompt (no model answer);
3. widgets become static: an ``interact`` shows its figure for the default
   values and a line naming them; a tqdm bar shows its final state;
4. every figure gets alt text from its titles (or axis labels, or the section
   it sits in).

Sphinx with myst-nb renders the pages (configuration: ``docs/site/conf.py``);
see docs/SITE.md for why.

    python -m autograder.instructor.authoring.site [--repo OWNER/NAME] [--ref main] [--out build/site]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.instructor.authoring.release import generate
from autograder.instructor.authoring.site_static import PRELUDE_TAG, alt_texts, heading_of, make_static
from autograder.instructor.cells import grade_id, is_solution_code
from autograder.instructor.course import Course

PLACEHOLDER_REPO = "OWNER/backprop-lab"
PACKAGE_NAME = "backprop-lab"
SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
STUB_RAISE = re.compile(r"^\s*raise NotImplementedError(\(\))?\s*$")
ALT_TEXT_FILE = "_alt_text.json"
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


# -- launch links ------------------------------------------------------------------------

def binder_url(repo: str, ref: str, chapter: str) -> str:
    return (f"https://mybinder.org/v2/gh/{repo}/{ref}"
            f"?urlpath=lab/tree/chapters/{chapter}/{chapter}.ipynb")


def colab_url(repo: str, ref: str, chapter: str) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{ref}/chapters/{chapter}/{chapter}.ipynb"


def colab_requirement(repo: str, ref: str) -> str:
    return f"{PACKAGE_NAME} @ git+https://github.com/{repo}@{ref}"


def colab_cell(requirement: str) -> str:
    """The first cell a chapter needs on Colab: install the course package unless present.

    Plain Python (no ``%pip``), so the same text runs in any interpreter; the test
    runs it with a local path as the requirement.
    """
    return (
        "# On Colab (or any Python without the course): install the course's package once.\n"
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if importlib.util.find_spec("autograder") is None:\n'
        '    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet",\n'
        f"                           {requirement!r}])\n"
    )


# -- preparing a chapter -------------------------------------------------------------------

def solution_code(solution_nb: NotebookNode) -> dict[str, str]:
    """grade_id -> the solution cell's code, without the BEGIN/END SOLUTION lines."""
    return {
        grade_id(cell): "\n".join(
            line for line in cell.source.splitlines() if not SOLUTION_MARKER.match(line))
        for cell in solution_nb.cells if is_solution_code(cell)
    }


def stub_for_page(source: str) -> str:
    """The student's stub as the page shows it: without the ``raise NotImplementedError()``."""
    lines = [line for line in source.splitlines() if not STUB_RAISE.match(line)]
    return "\n".join(lines).rstrip() or STUB_NOTE


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


def execute(nb: NotebookNode, cwd: Path, timeout: int = 600) -> None:
    from autograder.instructor.execute import RobustNotebookClient

    RobustNotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                         resources={"metadata": {"path": str(cwd)}}).execute()


# -- making a page static -----------------------------------------------------------------

def chapter_title(nb: NotebookNode, chapter: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = heading_of(cell)
            if heading:
                return heading
    return chapter


def landing_page(titles: dict[str, str], repo: str, ref: str) -> str:
    rows = "\n".join(
        f"| [{title}]({chapter}/{chapter}.ipynb) "
        f"| [open in Binder]({binder_url(repo, ref, chapter)}) "
        f"| [open in Colab]({colab_url(repo, ref, chapter)}) |"
        for chapter, title in titles.items()
    )
    placeholder = ""
    if repo == PLACEHOLDER_REPO:
        placeholder = (
            "\n```{warning}\nThe Binder and Colab links point at the placeholder repository "
            f"`{PLACEHOLDER_REPO}`: build with `make site SITE_REPO=owner/name` once the course "
            "is public.\n```\n")
    toctree = "\n".join(f"{chapter}/{chapter}" for chapter in titles)
    cell = colab_cell(colab_requirement(repo, ref))
    return f"""# Backprop Lab

Build neural networks and backpropagation yourself, in NumPy, and prove your code
right against PyTorch. Six chapters; each teaches an idea in prose, formulas and
pictures, asks you to implement it, and checks your code.

These pages show every chapter as it looks once all its exercises are solved:
figures, tables and the checks' results. The exercise cells show only what you
start from (the signature, the docstring and `# YOUR CODE HERE`); the solutions are
yours to write.
{placeholder}
## The two commands

```bash
make lab     # creates the environment if missing, opens JupyterLab on chapter 1
make test    # creates the environment if missing, runs every check
```

## The chapters

| chapter | in Binder (JupyterLab) | in Colab |
|---|---|---|
{rows}

On Colab, run this cell first (it installs the course's checks):

```python
{cell.rstrip()}
```

```{{toctree}}
:hidden:
:maxdepth: 1

{toctree}
```
"""


def _fingerprint(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def prepare_chapter(course: Course, chapter: str, work: Path, cache: Path) -> NotebookNode:
    """The chapter's page notebook, from the cache when no input changed."""
    solution = course.solutions / chapter / f"{chapter}.ipynb"
    package = Path(__file__).resolve().parents[2]
    key = _fingerprint(solution, package)
    cached = cache / f"{chapter}-{key}.ipynb"
    if cached.exists():
        return nbformat.read(str(cached), as_version=4)
    started = time.monotonic()
    released = work / "release"
    generate(released, course.solutions, [chapter])
    student = released / chapter / f"{chapter}.ipynb"
    nb = inject_solutions(nbformat.read(str(student), as_version=4),
                          nbformat.read(str(solution), as_version=4))
    run_dir = work / "run" / chapter
    run_dir.mkdir(parents=True, exist_ok=True)
    execute(nb, run_dir)
    nb = make_static(nb)
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(f"{chapter}-*.ipynb"):
        stale.unlink()
    nbformat.write(nb, str(cached))
    print(f"  {chapter}: executed in {time.monotonic() - started:.1f} s", flush=True)
    return nb


def build(course: Course, out: Path, repo: str = PLACEHOLDER_REPO, ref: str = "main",
          chapters: list[str] | None = None) -> Path:
    work = out.parent / f"{out.name}-src"
    cache = out.parent / f"{out.name}-cache"
    source = work / "pages"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    titles, pages = {}, []
    for chapter in chapters or course.chapter_ids():
        nb = prepare_chapter(course, chapter, work, cache)
        pages.append(nb)
        titles[chapter] = chapter_title(nb, chapter)
        (source / chapter).mkdir()
        nbformat.write(nb, str(source / chapter / f"{chapter}.ipynb"))
    (source / "index.md").write_text(landing_page(titles, repo, ref))
    (source / ALT_TEXT_FILE).write_text(json.dumps(alt_texts(pages), indent=1, sort_keys=True))
    (source / "site.json").write_text(json.dumps({"repo": repo, "ref": ref, "chapters": titles}, indent=1))
    conf = course.root / "docs" / "site"
    # Sphinx's cache (.doctrees) goes beside the pages' sources, never into the published folder.
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-E",
                    "-d", str(work / "doctrees"), "-c", str(conf), str(source), str(out)], check=True)
    shutil.rmtree(out / ".doctrees", ignore_errors=True)  # left by an older build
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=PLACEHOLDER_REPO,
                        help=f"GitHub owner/name for the launch links (default: {PLACEHOLDER_REPO})")
    parser.add_argument("--ref", default="main", help="branch or tag for those links")
    parser.add_argument("--out", default=None, help="output folder (default: build/site)")
    parser.add_argument("--course", default=None)
    parser.add_argument("chapters", nargs="*")
    args = parser.parse_args(argv)
    course = Course.find(args.course)
    out = Path(args.out) if args.out else course.root / "build" / "site"
    started = time.monotonic()
    build(course, out.resolve(), args.repo or PLACEHOLDER_REPO, args.ref, args.chapters or None)
    print(f"Site written to {out}/index.html in {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
