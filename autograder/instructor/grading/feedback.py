"""Feedback pages: sanitised, capped, offline, never hidden-test code, honest about manual grading.

One pass per batch, in the coordinator (no process per student). Each page is the
autograded notebook rendered by nbconvert's HTML exporter, after these changes:

- every test cell becomes a one-line verdict (points, passed or failed, and the
  check's message): no test code at all, hidden or visible, and no traceback;
- a written answer shows its score once an instructor has graded it, and
  "not graded yet" before (never a 0 that nobody gave); the instructor's comment on an
  answer (typed in the formgrader) follows it; the grader's own notes do not;
- a header says what the page is: scores, the status and its reason, and any
  cell the code policy stopped (with the rule it broke);
- every markdown cell is rendered here and cleaned by an allowlist sanitiser (``nh3``):
  no script, no event handler, no ``javascript:`` or ``data:`` link, no remote image.
  The student's markdown was HTML-escaped by the worker too; the course's own markdown is
  shown as written (the coordinator restores it, ``boundary.py``).

Maths is typeset by MathJax 2 from ``feedback/_mathjax/`` (copied from
``jupyter_server_mathjax``, as the formgrader serves it), and ``make release-feedback`` ships a
copy beside the pages: no page asks anything of the network. A page over ``PAGE_CAP_BYTES``
is rendered again without outputs, saying so. Each page carries the SHA-256 of what it was
rendered from; a page whose record, notebook, grades and comments are unchanged is not
rendered again (a no-op ``make grade`` renders nothing).
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
import shutil
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, NamedTuple

import nbformat

from autograder.i18n import _, language
from autograder.instructor.cells import is_answer, is_test, nbgrader_meta
from autograder.instructor.grading.opengradebook import open_gradebook
from autograder.instructor.grading.outputs import SAFE_MIMETYPES
from autograder.instructor.grading.records import Record

PAGE_CAP_BYTES = 4_000_000
# Part of every page's hash: a change to how pages are made re-renders them all.
RENDERER_VERSION = "3"
MATHJAX_DIR = "_mathjax"  # not a student id: ids start with a letter or a digit
# The config jupyter_server_mathjax bundles (STIX-Web fonts only), as the formgrader uses it.
MATHJAX_CONFIG = "MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
PAGE_MATHJAX = f"../../{MATHJAX_DIR}/{MATHJAX_CONFIG}"  # from feedback/<student>/<chapter>/
MATHJAX_FONTS = ('<script type="text/javascript">window.MathJax = {"HTML-CSS": {availableFonts: [], '
                 'preferredFont: null, webFont: "STIX-Web", imageFont: null}};</script>')
HASH_PREFIX = "<!-- backprop-lab feedback sha256:"
# What a page's markdown may hold once rendered; links only to the web or the page itself.
URL_SCHEMES = {"http", "https", "mailto"}
# Comments the grader writes itself: for the instructor, not the student.
GRADER_COMMENTS = ("Scored zero by the grader: ", "Not run by the grader (code policy)",
                   "The answer changed since it was graded")


def gradebook_view(root: Path) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """``(student, chapter) -> grade_id -> {"score", "needs", "comment"}``, read once (read only).

    ``score`` is the manual score, ``needs`` whether it still waits for grading, ``comment``
    the instructor's comment (the grader's own notes left out)."""
    view: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    if not (root / "gradebook.db").is_file():
        return view
    with open_gradebook(root) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                cells = view.setdefault((submission.student.id, assignment.name), {})
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        cells.setdefault(grade.name, {})
                        cells[grade.name].update(score=grade.manual_score,
                                                 needs=bool(grade.needs_manual_grade))
                    for comment in nb.comments:
                        text = (comment.manual_comment or "").strip()
                        if text and not text.startswith(GRADER_COMMENTS):
                            cells.setdefault(comment.name, {})["comment"] = text
    return view


def manual_grades(root: Path, student: str, chapter: str) -> dict[str, tuple[float | None, bool]]:
    """grade_id -> (manual score, still needs grading), from the gradebook (read only)."""
    cells = gradebook_view(root).get((student, chapter), {})
    return {name: (cell.get("score"), cell.get("needs", True)) for name, cell in cells.items()
            if "needs" in cell}


def verdict_cell(cell: nbformat.NotebookNode, test: dict[str, Any]) -> nbformat.NotebookNode:
    grade_id = nbgrader_meta(cell)["grade_id"]
    passed = test["score"] >= test["points"]
    text = (_("**Test `{grade_id}`: passed, {score:g} / {points:g} points.**") if passed else
            _("**Test `{grade_id}`: failed, {score:g} / {points:g} points.**")).format(
                grade_id=grade_id, score=test["score"], points=test["points"])
    if not passed and test.get("message"):
        text += "\n\n<pre>" + html.escape(test["message"][:2000]) + "</pre>"
    return nbformat.v4.new_markdown_cell(text)


def policy_line(violation: dict[str, Any]) -> str:
    """One stopped cell, with the rule: what the construct is and why the grader refuses it."""
    return _("- `{cell}`, line {line}: {construct}: {message}").format(
        cell=html.escape(violation["cell"]), line=violation["line"],
        construct=html.escape(violation["construct"]), message=html.escape(violation["message"]))


def header(record: Record, written: str) -> nbformat.NotebookNode:
    tests = record.tests.values()
    lines = [_("# Feedback: {chapter}").format(chapter=html.escape(record.chapter)),
             _("Student: `{student}`").format(student=html.escape(record.student)) + "  ",
             _("Tests: **{score:g} / {points:g}** points").format(
                 score=sum(t["score"] for t in tests), points=sum(t["points"] for t in tests)) + "  ",
             _("Written answers: {written}").format(written=written)]
    if record.status != "graded":
        lines.append("\n" + _("**Not graded normally ({status}):** {reason}").format(
            status=record.status, reason=html.escape(record.reason)))
    if record.policy:
        lines.append("\n" + _("**Code the grader did not run** (graded as unanswered):"))
        lines += [policy_line(v) for v in record.policy]
    if record.overrides:
        lines.append("\n" + _("**Your instructor's decision:** these cells ran as you wrote them, "
                               "on review:"))
        for decision in record.overrides:
            cell, by, at = (html.escape(decision.get(key, "")) for key in ("cell", "by", "at"))
            lines.append("- " + _("`{cell}`, decided by {by} on {at}").format(cell=cell, by=by, at=at))
    return nbformat.v4.new_markdown_cell("\n".join(lines))


def comment_cell(comment: str) -> nbformat.NotebookNode:
    quoted = "\n".join("> " + line for line in comment.splitlines())
    return nbformat.v4.new_markdown_cell(_("*Your instructor's comment:*") + "\n\n" + quoted)


def page_notebook(record: Record, nb: nbformat.NotebookNode | None,
                  grades: dict[str, tuple[float | None, bool]],
                  comments: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The page, in the submission's language: the autograded notebook's metadata says which (the
    worker copies the submission's ``"language"`` there); English when it says none."""
    lang = (nb.metadata.get("language") if nb is not None else None) or ""
    with language(lang if isinstance(lang, str) else ""):
        out = _page_notebook(record, nb, grades, comments or {})
    if lang:
        out.metadata["language"] = lang
    return out


def _page_notebook(record: dict[str, Any], nb: nbformat.NotebookNode | None,
                   grades: dict[str, tuple[float | None, bool]],
                   comments: dict[str, str]) -> nbformat.NotebookNode:
    out = nbformat.v4.new_notebook()
    comments = comments or {}
    answers = record.answers
    pending = [a for a in answers if grades.get(a, (None, True))[1] or grades.get(a, (None,))[0] is None]
    total = sum(a["points"] for a in answers.values())
    if not answers:
        written = _("none in this chapter")
    elif pending:
        written = _("{pending} of {count} not graded yet (out of {total:g} points)").format(
            pending=len(pending), count=len(answers), total=total)
    else:
        written = _("**{score:g} / {total:g}** points").format(
            score=sum(grades[a][0] for a in answers), total=total)
    out.cells.append(header(record, written))
    if nb is None:
        for index, cell in enumerate(out.cells):
            cell.id = f"page-{index}"
        return out
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if is_test(cell):
            out.cells.append(verdict_cell(cell, record.tests.get(meta["grade_id"],
                                                                   {"score": 0, "points": 0})))
        elif is_answer(cell):
            score, needs = grades.get(meta["grade_id"], (None, True))
            status = (_("not graded yet") if needs or score is None
                      else _("{score:g} / {points:g} points").format(score=score,
                                                                      points=float(meta.get("points", 0))))
            out.cells.append(nbformat.v4.new_markdown_cell(
                _("*Your answer ({status}):*").format(status=status) + "\n\n" + cell.source))
        else:
            out.cells.append(cell)
        if meta.get("grade_id") in comments:
            out.cells.append(comment_cell(comments[meta["grade_id"]]))
    for index, cell in enumerate(out.cells):  # the same page, the same JSON: its hash says "unchanged"
        cell.id = f"page-{index}"
    return out


def _no_remote_source(element: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: an image may show only what the page itself holds."""
    if element == "img" and attribute == "src" and (":" in value.split("/")[0] or value.startswith("//")):
        return None
    return value


# Most of a page is the course's own cells, the same on every student's page: a worker keeps
# what it rendered of them (by source) for the next page. Plain functions of the text, bounded in
# entries, in source length (the course's longest cell is 7,900 characters; a longer source, a
# student's, is rendered each time) and in bytes held: a short source can render to 24 times as many
# characters (highlighted code; 13 times for markdown headings), 4 bytes each in Python with one
# character outside the BMP: 2,048 entries were up to 3 GB, from one student's cells (redteam 12).
# The whole course renders to 0.6 MB of markdown and 3.2 MB of code.
CACHED_CELLS = 2048
CACHED_CELL_CHARS = 10_000
CACHED_BYTES = 32 << 20  # each cache's sources and renderings, as sys.getsizeof counts them


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int
    bytes: int


def cached_by_source(function: Any) -> Any:
    """``function(source)``, remembered for sources up to ``CACHED_CELL_CHARS`` long, the least
    recently used let go past ``CACHED_CELLS`` entries or ``CACHED_BYTES`` (``functools.lru_cache``
    bounds entries only; a size-bounded cache library would be one more dependency for 30 lines)."""
    held: OrderedDict[str, str] = OrderedDict()
    counts = {"hits": 0, "misses": 0, "bytes": 0}
    lock = threading.Lock()  # a worker may render pages in several threads

    @functools.wraps(function)
    def call(source: str, *args: Any, **kwargs: Any) -> str:
        if args or kwargs or type(source) is not str or len(source) > CACHED_CELL_CHARS:
            return function(source, *args, **kwargs)
        with lock:
            if source in held:
                held.move_to_end(source)
                counts["hits"] += 1
                return held[source]
            counts["misses"] += 1
        result = function(source)
        size = sys.getsizeof(source) + sys.getsizeof(result)
        with lock:
            if source not in held and size <= CACHED_BYTES:
                held[source] = result
                counts["bytes"] += size
                while len(held) > CACHED_CELLS or counts["bytes"] > CACHED_BYTES:
                    old_source, old = held.popitem(last=False)
                    counts["bytes"] -= sys.getsizeof(old_source) + sys.getsizeof(old)
        return result

    def cache_info() -> CacheInfo:
        with lock:
            return CacheInfo(counts["hits"], counts["misses"], CACHED_CELLS, len(held), counts["bytes"])

    def cache_clear() -> None:
        with lock:
            held.clear()
            counts.update(hits=0, misses=0, bytes=0)

    call.cache_info, call.cache_clear = cache_info, cache_clear  # type: ignore[attr-defined]
    return call


@cached_by_source
def sanitised_markdown(source: str) -> str:
    """Markdown as HTML through nbconvert's renderer (maths kept for MathJax), then an allowlist."""
    import nh3
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class PageRenderer(IPythonRenderer):
        # nbconvert's renderer raises InvalidNotebook for ``![](attachment:name)`` without that
        # attachment: one student's markdown stopped every page of the batch after theirs. The source
        # is kept as written; nh3 then drops it (a page shows only images it holds).
        def _embed_image_or_attachment(self, src: str) -> str:
            return src

    return nh3.clean(MarkdownWithMath(renderer=PageRenderer(escape=False)).render(source),
                     url_schemes=URL_SCHEMES, attribute_filter=_no_remote_source)


# nbconvert's lab template, with each markdown cell's HTML taken as rendered and sanitised here
# (its raw-cell path runs bleach with a short tag list, which escapes <p> and headings).
PAGE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block markdowncell scoped %}
<div class="jp-Cell jp-MarkdownCell jp-Notebook-cell"><div class="jp-Cell-inputWrapper">
<div class="jp-InputArea jp-Cell-inputArea"><div class="jp-InputPrompt jp-InputArea-prompt"></div>
<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput" data-mime-type="text/markdown">
{{ cell.metadata.get('feedback_html', '') }}
</div></div></div></div>
{%- endblock markdowncell %}
{% block input %}
<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">
     <div class="cm-editor cm-s-jupyter">
{{ cell.source | highlight_code }}
     </div>
</div>
{%- endblock input %}
"""
# nbconvert's lab template passes every code cell's highlighted source through its HTML sanitiser
# (bleach), and HTMLExporter then parses the whole page again with BeautifulSoup to add images'
# alt text and focusable cells: 4 of the 5 s a chapter-5 page took. Pygments' HTML formatter
# escapes every token of the code already (the cell's metadata no longer picks the lexer), and the
# alt text and tabindex are added below by two substitutions on the template's own markup.
NO_ALT = re.compile(r"<img (?![^>]*\balt=)")
FOCUSABLE = re.compile(r'<div class="((?:[^"]* )?jp-(?:Cell-inputWrapper|OutputArea-output)(?: [^"]*)?)"')


def raw_as_text(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A raw cell as a markdown cell of escaped text: nbconvert would copy its source as HTML."""
    return nbformat.v4.new_markdown_cell("<pre>" + html.escape(cell.source) + "</pre>")


def safe_outputs(cell: nbformat.NotebookNode) -> None:
    """Only text and images (the worker already reduced outputs so; this is the second line)."""
    for output in cell.get("outputs", []):
        if "data" in output:
            output["data"] = {k: v for k, v in output["data"].items() if k in SAFE_MIMETYPES}
            output["metadata"] = {}


@functools.lru_cache(maxsize=1)
def page_exporter() -> Any:
    """The one HTML exporter of this process: its templates are compiled once, not once a page
    (a tenth of a second each). A page's own state is only in the resources of its call."""
    import jinja2
    from nbconvert import HTMLExporter
    from nbconvert.exporters.html import WidgetsDataTypeFilter
    from nbconvert.filters.highlight import Highlight2HTML

    exporter = HTMLExporter(mathjax_url=PAGE_MATHJAX, require_js_url="",
                            extra_loaders=[jinja2.DictLoader({"feedback.html.j2": PAGE_TEMPLATE})],
                            template_file="feedback.html.j2")
    # HTMLExporter.from_notebook_node, less its BeautifulSoup pass (above): its highlighter and the
    # widget-state filter, then the template.
    highlight = Highlight2HTML(pygments_lexer="ipython3", parent=exporter)
    exporter.register_filter("highlight_code", cached_by_source(highlight))
    # (no widget state: a page's outputs are only SAFE_MIMETYPES)
    exporter.register_filter("filter_data_type", WidgetsDataTypeFilter(notebook_metadata={}, parent=exporter))
    return exporter


def render(nb: nbformat.NotebookNode) -> str:
    """The page's HTML: markdown sanitised, MathJax from ``_mathjax/``, no script from the web."""
    from nbconvert.exporters.templateexporter import TemplateExporter

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells = [raw_as_text(c) if c.cell_type == "raw" else c for c in nb.cells]
    for cell in nb.cells:
        safe_outputs(cell)
        if cell.cell_type == "markdown":
            cell.metadata["feedback_html"] = sanitised_markdown(cell.source)
    body, _resources = TemplateExporter.from_notebook_node(page_exporter(), nb)
    body = NO_ALT.sub('<img alt="No description has been provided for this image" ', body)
    body = FOCUSABLE.sub(r'<div class="\1" tabindex="0"', body)
    # require.js is only for widgets, which a feedback page never has.
    body = body.replace('<script src=""></script>', "")
    return body.replace("<head>", "<head>\n" + MATHJAX_FONTS, 1)


def render_capped(page_json: str) -> str:
    """A page's HTML, rendered again without code outputs if it is over ``PAGE_CAP_BYTES``.
    Plain data in and out, so that a Dask worker can do it."""
    page = nbformat.reads(page_json, as_version=4)
    text = render(page)
    if len(text.encode()) > PAGE_CAP_BYTES:
        for cell in page.cells:
            if cell.cell_type == "code":
                cell.outputs = []
        with language(page.metadata.get("language") or ""):
            page.cells.insert(1, nbformat.v4.new_markdown_cell(_(
                "*This page was over {size} MB, so the outputs of your "
                "code cells were left out.*").format(size=PAGE_CAP_BYTES // 1_000_000)))
        text = render(page)
    return f"{HASH_PREFIX}{page_sha256(page_json)} -->\n{text}"


def render_or_explain(page_json: str) -> str:
    """``render_capped``, or, if rendering fails, a page that says so: one notebook's page never
    stops the others' (``write_feedback`` renders them all in one pass)."""
    try:
        return render_capped(page_json)
    except Exception as error:  # whatever a student's notebook made the renderer do
        return unrendered_page(page_json, type(error).__name__)


def unrendered_page(page_json: str, why: str) -> str:
    """The page a student gets when theirs could not be rendered, in their language. It carries no
    hash line (``rendered_sha256``), so the next ``make grade`` tries to render it again."""
    try:
        metadata = json.loads(page_json).get("metadata") or {}
        code = str(metadata.get("language") or "") if isinstance(metadata, dict) else ""
    except (ValueError, AttributeError):
        code = ""
    with language(code):
        text = _("Your feedback page could not be made ({why}). Your grade is kept in the gradebook: "
                 "ask your instructor for it.").format(why=why)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Backprop Lab</title>'
            f"</head><body><p>{html.escape(text)}</p></body></html>\n")


def page_sha256(page_json: str) -> str:
    return hashlib.sha256((RENDERER_VERSION + page_json).encode()).hexdigest()


def rendered_sha256(path: Path) -> str | None:
    """The hash a page on disk was rendered from, or None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
    except OSError:
        return None
    return first[len(HASH_PREFIX):].split()[0] if first.startswith(HASH_PREFIX) else None


def install_mathjax(folder: Path) -> None:
    """MathJax 2 (``jupyter_server_mathjax``'s copy) into ``folder/_mathjax``, once."""
    import jupyter_server_mathjax

    target = folder / MATHJAX_DIR
    if (target / "MathJax.js").is_file():
        return
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    partial = folder / f".{MATHJAX_DIR}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, partial)
    partial.rename(target)


def write_feedback(root: Path, records: list[Record], mapper=map) -> list[Path]:
    """One page per record, under ``root/feedback/<student>/<chapter>/<chapter>.html``; the
    pages written (those whose inputs changed).

    The pages are put together here (they need the gradebook) and rendered by ``mapper``:
    the builtin ``map``, or a Dask client's, to spread the rendering over its workers."""
    view = gradebook_view(root)
    pages, targets = [], []
    for record in records:
        student, chapter = record.student, record.chapter
        path = root / "autograded" / student / chapter / f"{chapter}.ipynb"
        nb = (nbformat.read(str(path), as_version=4)
              if record.status != "invalid" and path.is_file() else None)
        cells = view.get((student, chapter), {})
        grades = {name: (cell.get("score"), cell.get("needs", True)) for name, cell in cells.items()
                  if "needs" in cell}
        comments = {name: cell["comment"] for name, cell in cells.items() if "comment" in cell}
        page = nbformat.writes(page_notebook(record, nb, grades, comments))
        target = root / "feedback" / student / chapter / f"{chapter}.html"
        if rendered_sha256(target) == page_sha256(page):
            continue  # rendered from exactly this before
        pages.append(page)
        targets.append(target)
    if targets:
        install_mathjax(root / "feedback")
    for target, text in zip(targets, mapper(render_or_explain, pages) if pages else []):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return targets
