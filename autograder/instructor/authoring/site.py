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

Steps 1 and 2 and the run itself are site_pages.py (one process per core); 3 and 4 site_static.py.

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
import copy
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.instructor.authoring.site_pages import prepare_all
from autograder.instructor.authoring.site_static import alt_texts, heading_of
from autograder.instructor.course import Course

PLACEHOLDER_REPO = "OWNER/backprop-lab"
PACKAGE_NAME = "backprop-lab"
ALT_TEXT_FILE = "_alt_text.json"
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
    has every chapter (``translated``: edition -> chapter -> its page, ``site_pages.prepare_chapter(...,
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
