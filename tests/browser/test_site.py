"""The course site (`make test-site`, after `make site` built ``build/site/``).

What it proves:
- every chapter has a page, and the landing page has the chapter table, the two
  commands and a Binder and a Colab link per chapter;
- no page holds solution code, hidden-test code, a model answer, a solution marker or
  a ``raise NotImplementedError`` stub (each compared with what ``solutions/`` holds);
- no widget or progress bar is left as its text form or at 0 %;
- every figure has alt text that describes it; math is MathJax from the build;
- in headless Chromium, every page loads with no console error, no failed or
  off-machine request, its math typeset and every image decoded with alt text.
"""

from __future__ import annotations

import html
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder.instructor.authoring.site import binder_url, colab_url
from autograder.instructor.course import Course

from .conftest import serve, watch

REPO = Path(__file__).resolve().parents[2]
COURSE = Course(REPO)
SITE = Path(os.environ.get("BACKPROP_LAB_SITE") or REPO / "build" / "site").resolve()
CHAPTERS = COURSE.chapter_ids()
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


@pytest.fixture(scope="module", autouse=True)
def built_site():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no site at {SITE}: run `make site` (make test-site does)")


def page_path(chapter: str) -> Path:
    return SITE / chapter / f"{chapter}.html"


class _Text(HTMLParser):
    """A page's visible text, and the text of its code-cell inputs apart."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.code, self.images = [], [], []
        self._skip = 0
        self._input_depth = 0
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "img":
            self.images.append(attrs)
        if tag == "div":
            self._depth += 1
            if "cell_input" in (attrs.get("class") or "") and not self._input_depth:
                self._input_depth = self._depth

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "div":
            if self._input_depth == self._depth:
                self._input_depth = 0
            self._depth -= 1

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._input_depth:
            self.code.append(data)


def read_page(path: Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text())
    return parser


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def ngrams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def secrets(chapter: str) -> dict[str, set]:
    """What the page must not show: solution and hidden-test lines, model-answer phrases.

    A line (or an 8-word phrase of a model answer) counts only if the student version
    does not have it too, so shared code like ``return out`` is not a false alarm.
    """
    source = nbformat.read(str(COURSE.solutions / chapter / f"{chapter}.ipynb"), as_version=4)
    student = nbformat.read(str(COURSE.chapters / chapter / f"{chapter}.ipynb"), as_version=4)
    student_text = "\n".join(cell.source for cell in student.cells)
    student_phrases = ngrams(student_text)
    code, hidden, answers = set(), set(), set()
    for cell in source.cells:
        if cell.cell_type == "markdown" and _nbgrader(cell).get("solution"):
            answers |= ngrams(cell.source) - student_phrases
            continue
        for bucket, regions in ((code, SOLUTION_REGION.findall(cell.source)),
                                (hidden, HIDDEN_REGION.findall(cell.source))):
            for region in regions:
                for line in region.splitlines():
                    line = line.strip()
                    if len(line) > 15 and not line.startswith("#") and line not in student_text:
                        bucket.add(line)
    return {"solution code": code, "hidden tests": hidden, "model answers": answers}


def test_every_chapter_has_a_page():
    missing = [chapter for chapter in CHAPTERS if not page_path(chapter).exists()]
    assert missing == [], f"chapters without a page: {missing}"


def test_landing_page_has_the_chapters_the_commands_and_launch_links():
    index = (SITE / "index.html").read_text()
    text = "".join(read_page(SITE / "index.html").text)
    assert "make lab" in text and "make test" in text, "the two commands are missing"
    settings = json.loads((SITE.parent / "site-src" / "pages" / "site.json").read_text())
    for chapter in CHAPTERS:
        assert f'href="{chapter}/{chapter}.html"' in index, f"no link to {chapter}'s page"
        for url in (binder_url(settings["repo"], settings["ref"], chapter),
                    colab_url(settings["repo"], settings["ref"], chapter)):
            assert html.escape(url) in index or url in index, f"no launch link {url}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_page_holds_no_solution_no_hidden_test_no_model_answer(chapter):
    page = read_page(page_path(chapter))
    text = "".join(page.text)
    code = "".join(page.code)
    for marker in MARKERS:
        assert marker not in text, f"{chapter}: {marker!r} on the page"
    assert "NotImplementedError" not in code, f"{chapter}: a `raise NotImplementedError` stub on the page"
    found = secrets(chapter)
    assert found["solution code"], f"{chapter}: found no solution code to look for"
    for kind in ("solution code", "hidden tests"):
        leaked = sorted(line for line in found[kind] if line in text)
        assert leaked == [], f"{chapter}: {kind} on the page: {leaked[:5]}"
    page_phrases = ngrams(text)
    leaked = sorted(" ".join(p) for p in found["model answers"] & page_phrases)
    assert leaked == [], f"{chapter}: model answers on the page: {leaked[:3]}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_widgets_and_progress_bars_are_static_and_final(chapter):
    raw = page_path(chapter).read_text()
    text = "".join(read_page(page_path(chapter)).text)
    for left_over in ("interactive(children", "HBox(children", "FloatProgress(", "IntProgress(",
                      "application/vnd.jupyter.widget"):
        assert left_over not in raw, f"{chapter}: a widget left as {left_over!r}"
    assert not re.search(r"\b0%\|", text), f"{chapter}: a text progress bar stuck at 0 %"
    for value, maximum in re.findall(r'<progress value="([\d.]+)" max="([\d.]+)"', raw):
        assert float(value) == float(maximum), f"{chapter}: a progress bar at {value}/{maximum}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_figure_has_alt_text(chapter):
    images = read_page(page_path(chapter)).images
    for image in images:
        alt = (image.get("alt") or "").strip()
        assert alt, f"{chapter}: an image without alt text: {image.get('src')}"
        assert alt != image.get("src") and not alt.endswith((".png", ".svg", ".jpg")), \
            f"{chapter}: alt text is a file name: {alt}"
        assert not alt.startswith("<Figure size"), f"{chapter}: alt text is matplotlib's repr: {alt}"


def test_math_is_served_from_the_build():
    first = page_path(CHAPTERS[0]).read_text()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', first)
    assert any("_static/mathjax/" in s for s in scripts), f"no MathJax script from the build: {scripts}"
    for page in [SITE / "index.html", *map(page_path, CHAPTERS)]:
        for src in re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="([^"]+)"', page.read_text()):
            assert not src.startswith(("http:", "https:", "//")), f"{page.name} loads {src} from off the site"
    assert list((SITE / "_static").rglob("tex-chtml.js")), "MathJax is not in the build"


def test_every_page_renders_in_chromium(browser):
    pages = ["index.html", *(f"{chapter}/{chapter}.html" for chapter in CHAPTERS)]
    with serve(SITE) as url:
        for path in pages:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            watched = watch(page)
            page.goto(f"{url}/{path}", wait_until="load")
            page.wait_for_load_state("networkidle")
            typeset = page.evaluate("""async () => {
                if (!window.MathJax || !MathJax.startup) return -1;
                await MathJax.startup.promise;
                return document.querySelectorAll('mjx-container').length;
            }""")
            images = page.evaluate("""() => [...document.images].map(i => ({
                src: i.getAttribute('src'), width: i.naturalWidth, complete: i.complete,
                alt: (i.getAttribute('alt') || '').trim()}))""")
            context.close()
            assert watched.problems == [], f"{path}: {watched.problems}"
            if path != "index.html":
                assert typeset > 0, f"{path}: MathJax typeset no formula ({typeset})"
            broken = [i["src"] for i in images if not (i["complete"] and i["width"] > 0)]
            assert broken == [], f"{path}: images that did not load: {broken}"
            no_alt = [i["src"] for i in images if not i["alt"]]
            assert no_alt == [], f"{path}: images without alt text: {no_alt}"


ANCHOR = re.compile(r'<a\b[^>]*\bhref="([^"#]*)[^"]*"[^>]*>(.*?)</a>', re.S)


def _links_named(page: Path, name: str) -> list[Path]:
    """The pages that ``page`` links to with the text ``name`` (tags inside the link stripped)."""
    return [(page.parent / href).resolve() for href, inner in ANCHOR.findall(page.read_text())
            if href and re.sub(r"<[^>]+>", "", inner).strip() == name]


@pytest.mark.parametrize("chapter", [*CHAPTERS, "index"])
def test_every_page_in_both_languages_switches_to_the_other(chapter):
    """The site is built in English and in Chinese (zh/), and every page links to itself in the other."""
    english = SITE / "index.html" if chapter == "index" else page_path(chapter)
    chinese = SITE / "zh" / ("index.html" if chapter == "index" else f"{chapter}/{chapter}.html")
    assert chinese.exists(), f"no Chinese page {chinese.relative_to(SITE)}"
    assert chinese.resolve() in _links_named(english, "中文"), f"{english.name}: no switch to Chinese"
    assert english.resolve() in _links_named(chinese, "English"), f"{chinese.name}: no switch to English"
    assert re.search(r"[\u4e00-\u9fff]", "".join(read_page(chinese).text)), "the Chinese page is not Chinese"


def test_a_chinese_page_shows_what_its_code_printed_in_chinese():
    """`make site` runs each edition's page in its own language (site_pages.prepare_chapter): the Chinese
    page's printed lines, figures and widgets are Chinese, not the English run's outputs."""
    chapter = CHAPTERS[0]
    english = " ".join(read_page(page_path(chapter)).text)
    chinese = " ".join(read_page(SITE / "zh" / chapter / f"{chapter}.html").text)
    assert "4097 parameters" in english, "chapter 1 prints the source's parameter count"
    assert "4097 个参数" in chinese and "4097 parameters" not in chinese, "the Chinese page shows English"


@pytest.mark.parametrize("edition", ["", "zh"])
def test_no_figure_text_is_drawn_as_boxes(edition):
    """matplotlib says where it draws a box instead of a character: "Glyph ... missing from font(s)",
    or mathtext's "Font 'default' does not have a glyph for ..."."""
    for chapter in CHAPTERS:
        page = SITE / edition / chapter / f"{chapter}.html"
        text = page.read_text()
        boxes = ("missing from font", "does not have a glyph")
        assert not any(box in text for box in boxes), f"{page.relative_to(SITE)}: a box"
