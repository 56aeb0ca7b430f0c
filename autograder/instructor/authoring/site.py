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

Every translated edition gets the same pages (``zh/NN_x/NN_x.html``, ``zh/index.html``): the
English page with its markdown and stubs put through the chapter's catalog
(``translations/<locale>/NN_x.po``, as ``make release --editions`` does), and a language switcher at
the top of every page, English and translated alike.

Sphinx with myst-nb renders the pages (configuration: ``docs/site/conf.py``);
see docs/SITE.md for why.

    python -m autograder.instructor.authoring.site [--repo OWNER/NAME] [--ref main] [--out build/site]
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import os
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

def binder_url(repo: str, ref: str, chapter: str, edition: str = "") -> str:
    folder = f"chapters/{edition}/" if edition else "chapters/"
    return (f"https://mybinder.org/v2/gh/{repo}/{ref}"
            f"?urlpath=lab/tree/{folder}{chapter}/{chapter}.ipynb")


def colab_url(repo: str, ref: str, chapter: str, edition: str = "") -> str:
    folder = f"chapters/{edition}/" if edition else "chapters/"
    return f"https://colab.research.google.com/github/{repo}/blob/{ref}/{folder}{chapter}/{chapter}.ipynb"


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


# The Chinese landing page: LANDING's layout, translated whole. Kept as a second template on
# purpose (`duplicates` pairs their shared MyST toctree block): a translator reads and edits one
# page, not a template assembled from translated fragments.
ZH_LANDING = """# Backprop Lab · 反向传播实验室

{languages}

用 NumPy 亲手搭建神经网络、实现反向传播，并以 PyTorch 为参照证明你的代码是对的。共六章；每一章先用
文字、公式和图讲清一个概念，再请你动手实现它，然后检查你的代码。

这些页面展示每一章在所有练习都完成之后的样子：图、表和检查的结果。练习单元格只显示你的起点（函数签名、
文档字符串和 `# YOUR CODE HERE`），解答要由你自己来写。代码输出（检查信息、图中文字）来自英文版的运行。

## 两条命令

```bash
make lab EDITION=zh   # 如果还没有环境就先创建，然后在 JupyterLab 中打开中文版第 1 章
make test             # 如果还没有环境就先创建，然后运行全部检查
```

## 各章

| 章 | 在 Binder 中打开（JupyterLab） | 在 Colab 中打开 |
|---|---|---|
{rows}

在 Colab 上请先运行这个单元格（它会安装课程的检查程序）：

```python
{cell}
```

```{{toctree}}
:hidden:
:maxdepth: 1

{toctree}
```
"""
# The switcher's name for each language, in that language.
LANGUAGE_NAMES = {"": "English", "zh": "中文"}


def switcher(page: str, edition: str, editions: list[str]) -> str:
    """The language switcher's Markdown for ``page`` ('index' or a chapter id) in ``edition`` ('' is
    English): the current language in bold, the others linked to the same page in their language."""
    up = "../" * ((1 if edition else 0) + (0 if page == "index" else 1))
    target = "index.md" if page == "index" else f"{page}/{page}.ipynb"
    links = []
    for other in ["", *editions]:
        name = LANGUAGE_NAMES.get(other, other)
        folder = f"{other}/" if other else ""
        links.append(f"**{name}**" if other == edition else f"[{name}]({up}{folder}{target})")
    return " · ".join(links)


def with_switcher(nb: NotebookNode, chapter: str, edition: str, editions: list[str]) -> NotebookNode:
    """A copy of the page with the switcher as its first cell."""
    page = copy.deepcopy(nb)
    cell = nbformat.v4.new_markdown_cell(switcher(chapter, edition, editions),
                                         metadata={"tags": ["language-switcher"]})
    cell.id = "language-switcher"
    page.cells.insert(0, cell)
    return page


def edition_catalogs(course: Course, chapters: list[str]) -> dict[str, dict[str, Path]]:
    """edition ('zh') -> chapter -> its catalog's path (translations/<locale>/NN_x.po), per edition."""
    from autograder.instructor.authoring.translations import TRANSLATIONS, catalog_path, edition_folder

    folder = course.root / TRANSLATIONS
    found: dict[str, dict[str, Path]] = {}
    for locale in sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        catalogs = {chapter: catalog_path(folder, locale, chapter) for chapter in chapters
                    if catalog_path(folder, locale, chapter).is_file()}
        if catalogs:
            found[edition_folder(locale)] = catalogs
    return found


def translated_landing(edition: str, titles: dict[str, str], repo: str, ref: str, languages: str) -> str:
    """A translated edition's landing page (today Chinese only: a new language adds its text here)."""
    rows = "\n".join(
        f"| [{title}]({chapter}/{chapter}.ipynb) "
        f"| [Binder]({binder_url(repo, ref, chapter, edition)}) "
        f"| [Colab]({colab_url(repo, ref, chapter, edition)}) |"
        for chapter, title in titles.items())
    toctree = "\n".join(f"{chapter}/{chapter}" for chapter in titles)
    cell = colab_cell(colab_requirement(repo, ref)).rstrip()
    return ZH_LANDING.format(rows=rows, toctree=toctree, cell=cell, languages=languages)


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


def build(course: Course, out: Path, repo: str = PLACEHOLDER_REPO, ref: str = "main",
          chapters: list[str] | None = None) -> Path:
    work = out.parent / f"{out.name}-src"
    cache = out.parent / f"{out.name}-cache"
    source = work / "pages"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    chapters = chapters or course.chapter_ids()
    editions = edition_catalogs(course, chapters)
    jobs = [(chapter, "", None) for chapter in chapters] + [
        (chapter, edition, catalog) for edition, catalogs in editions.items()
        for chapter, catalog in catalogs.items()]
    prepared = dict(zip(jobs, prepare_all(course, jobs, work, cache)))
    pages = [prepared[(chapter, "", None)] for chapter in chapters]
    titles = {chapter: chapter_title(page, chapter) for chapter, page in zip(chapters, pages)}
    translated = {edition: {chapter: prepared[(chapter, edition, catalog)]
                            for chapter, catalog in catalogs.items()}
                  for edition, catalogs in editions.items()}
    write_pages(source, dict(zip(chapters, pages)), titles, translated, repo, ref)
    (source / ALT_TEXT_FILE).write_text(json.dumps(
        alt_texts([*pages, *(nb for found in translated.values() for nb in found.values())]),
        indent=1, sort_keys=True))
    (source / "site.json").write_text(json.dumps({"repo": repo, "ref": ref, "chapters": titles}, indent=1))
    run_sphinx(course, source, work, out)
    return out


def write_pages(source: Path, pages: dict[str, NotebookNode], titles: dict[str, str],
                translated: dict[str, dict[str, NotebookNode]], repo: str, ref: str) -> None:
    """The Sphinx sources: every chapter and the landing page, in English and in each edition that
    has every chapter (``translated``: edition -> chapter -> its page, ``prepare_chapter(...,
    edition)``, in ``<edition>/``), each page with the language switcher on top."""
    editions = [edition for edition, found in translated.items() if set(found) == set(pages)]
    for chapter, nb in pages.items():
        (source / chapter).mkdir(parents=True)
        nbformat.write(with_switcher(nb, chapter, "", editions), str(source / chapter / f"{chapter}.ipynb"))
    landing = landing_page(titles, repo, ref)
    if editions:  # the switcher, and the editions' landing pages in the (hidden) table of contents
        languages = switcher("index", "", editions)
        landing = landing.replace("# Backprop Lab\n", f"# Backprop Lab\n\n{languages}\n", 1)
        landing = landing.rstrip().removesuffix("```") + "".join(f"{e}/index\n" for e in editions) + "```\n"
    (source / "index.md").write_text(landing)
    for edition in editions:
        edition_titles = {}
        for chapter in pages:
            page = translated[edition][chapter]
            edition_titles[chapter] = chapter_title(page, chapter)
            (source / edition / chapter).mkdir(parents=True)
            nbformat.write(with_switcher(page, chapter, edition, editions),
                           str(source / edition / chapter / f"{chapter}.ipynb"))
        (source / edition / "index.md").write_text(
            translated_landing(edition, edition_titles, repo, ref, switcher("index", edition, editions)))


def run_sphinx(course: Course, source: Path, work: Path, out: Path) -> None:
    conf = course.root / "docs" / "site"
    # Sphinx's cache (.doctrees) goes beside the pages' sources, never into the published folder.
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-E",
                    "-d", str(work / "doctrees"), "-c", str(conf), str(source), str(out)], check=True)
    shutil.rmtree(out / ".doctrees", ignore_errors=True)  # left by an older build


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
