"""Translations of the chapters: one gettext catalog per chapter per language, keyed by cell.

The English notebooks in ``solutions/`` stay the single source of code, tests and outputs. The
text a learner reads (markdown cells, and the docstrings and comments of exercise cells: see
``messages.py``) is translated in ``translations/<locale>/<chapter>.po``:

    msgctxt "cell-003/md@3f2a9c0d1e4b"     the cell id, the part, and the English text's SHA-256
    msgid   "## 1.1 What is a neural network?\\n..."      the English text
    msgstr  "## 1.1 什么是神经网络?\\n..."                 the translation

Why gettext ``.po`` files, read and written with Babel (``babel.messages``): it is the
ecosystem's standard for translations, so a translator works in Poedit, Weblate or Crowdin
(fuzzy flags, previous msgids, comments all understood), and a third language is a new
catalog, not new code. Babel is the Python reference implementation of the format.

A changed English cell cannot drift silently: its hash no longer matches the msgctxt, so its
translation counts as stale until a translator reviews it. ``extract`` keeps the old
translation, marks it fuzzy and records the previous English (``#| msgid``), which Poedit
shows as a diff.

    python -m autograder.instructor.authoring.translations extract zh_CN   # update the catalogs
    python -m autograder.instructor.authoring.translations status zh_CN    # missing/stale per chapter

``status`` exits 1 when a catalog has missing or stale entries. ``write_translated`` builds a
translated notebook; ``release --editions`` writes ``chapters/<language>/<chapter>/<chapter>.ipynb``
with it (see docs/TRANSLATING.md).
"""

from __future__ import annotations

import argparse
import copy
import io
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.pofile import normalize, read_po, unescape, write_po
from nbformat.notebooknode import NotebookNode

from autograder.instructor.authoring.messages import Message, notebook_messages, split_context, translate_cell
from autograder.instructor.cells import write_atomic
from autograder.instructor.course import chapter_ids, course_and_chapters

FUZZY = "fuzzy"
TRANSLATIONS = "translations"  # the catalogs' folder, beside solutions/
PROJECT = "Backprop Lab"


def catalog_path(translations: Path, locale: str, chapter: str) -> Path:
    return translations / locale / f"{chapter}.po"


def edition_folder(locale: str) -> str:
    """Where a language's edition lives under ``chapters/``: the language code (zh_CN -> zh)."""
    try:
        return Locale.parse(locale).language
    except (ValueError, TypeError, UnknownLocaleError):
        raise ValueError(f"{TRANSLATIONS}/{locale}/ is not named after a locale (such as zh_CN or fr_FR): "
                         "rename it, or move it out of the folder") from None


def language_tag(catalog: Catalog) -> str:
    """The catalog's locale as the course writes it: ``zh_CN`` (Babel itself says ``zh_Hans_CN``)."""
    return "_".join(part for part in (catalog.locale.language, catalog.locale.territory) if part)


def new_catalog(locale: str | Locale, **dates) -> Catalog:
    return Catalog(locale=locale, project=PROJECT, version="1", fuzzy=False,
                   copyright_holder="the Backprop Lab authors",
                   msgid_bugs_address="the course's issue tracker",
                   last_translator="the Backprop Lab translators",
                   language_team=f"{Locale.parse(locale).english_name} translators of Backprop Lab", **dates)


# Babel (2.19) reads ``#|`` lines as translator comments and writes a multi-line previous msgid
# as one wrapped comment, so a round trip loses it. The previous msgid is written and read here,
# in GNU gettext's form, which Poedit shows as a diff:  #| msgid ""  /  #| "first line\n" ...
_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
_CONTEXT_LINE = re.compile(r'^msgctxt (".*")$')


def _previous_lines(text: str) -> list[str]:
    lines = normalize(text, width=0).split("\n")
    return [f"#| msgid {lines[0]}", *(f"#| {line}" for line in lines[1:])]


def _literals(lines: list[str]) -> str:
    return "".join(unescape(f'"{m}"') for line in lines for m in _LITERAL.findall(line))


def read_catalog(path: Path, locale: str) -> Catalog:
    """The catalog in ``path``; an empty one for ``locale`` when there is none yet."""
    if not path.is_file():
        return new_catalog(locale)
    kept, previous, block = [], {}, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#|"):
            block.append(line[2:].strip().removeprefix("msgid ").strip())
            continue
        context = _CONTEXT_LINE.match(line)
        if block and context:
            previous[unescape(context.group(1))] = _literals(block)
        block = [] if not line.startswith("#") or context else block
        kept.append(line)
    try:
        catalog = read_po(io.BytesIO("\n".join(kept).encode("utf-8")), locale=locale, abort_invalid=True)
    except Exception as error:  # babel's PoFileError, or a decoding error
        raise SystemExit(f"{path} is not a valid .po file ({error}); open it in Poedit, which "
                         "shows the line, or restore it from git.") from None
    for entry in catalog:
        if entry.context in previous:
            entry.previous_id = (previous[entry.context],)
    return catalog


def catalog_text(catalog: Catalog) -> str:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, include_previous=False, sort_output=False)
    previous = {entry.context: entry.previous_id[0] for entry in catalog
                if entry.context and entry.previous_id and entry.previous_id[0]}
    out = []
    for line in buffer.getvalue().decode("utf-8").split("\n"):
        context = _CONTEXT_LINE.match(line)
        if context and unescape(context.group(1)) in previous:
            out += _previous_lines(previous[unescape(context.group(1))])
        out.append(line)
    return "\n".join(out)


def current_translations(catalog: Catalog) -> dict[str, str]:
    """msgctxt -> translation, for the entries that are translated, not fuzzy, and whose
    msgctxt hash is that of their own msgid (a hand-edited msgid does not count): what a release
    may use. A notebook's text uses an entry only when its own msgctxt is the same."""
    found = {}
    for entry in catalog:
        if not entry.id or not entry.context or not entry.string or entry.fuzzy:
            continue
        key, digest = split_context(entry.context)
        if Message(key, "", entry.id).context.endswith("@" + digest):
            found[entry.context] = entry.string
    return found


def write_translated(source_nb: NotebookNode, catalog: Catalog) -> NotebookNode:
    """The notebook in the catalog's language: a new notebook, ``source_nb`` is not changed.

    ``source_nb`` is the English notebook (the release calls this on nbgrader's student version;
    the solutions notebook works too: both carry the same cell ids). A cell is translated only
    when the catalog holds a current translation of its exact English text: a missing or stale
    one leaves the English (gettext's own fallback; ``status`` and the tests report it).
    Test cells, locked cells, plain code cells, cell ids, outputs and nbgrader metadata are
    copied as they are, so grading sees the same notebook. The notebook's metadata gets
    ``"language": "<locale>"``, so the tools can answer a learner in their language.
    """
    translations = current_translations(catalog)
    translated = copy.deepcopy(source_nb)
    wanted = {message.cell_id for message in notebook_messages(source_nb)
              if message.context in translations}
    for cell in translated.cells:
        if cell.get("id") in wanted:
            cell.source = translate_cell(cell, translations)
    translated.metadata["language"] = language_tag(catalog)
    return translated


def write_editions(released: Path, translations: Path, chapters: list[str] | None = None) -> list[Path]:
    """Write every language's edition beside an English release, for the chapters with a catalog.

    ``released`` holds ``<chapter>/<chapter>.ipynb`` as nbgrader generated them (``make release``'s
    fresh folder); each edition goes to ``released/<language>/<chapter>/``, with the chapter's
    other files copied as they are. Returns the notebooks written.
    """
    chapters = chapters or sorted(p.name for p in released.iterdir()
                                  if (p / f"{p.name}.ipynb").is_file())
    locales = sorted(p.name for p in translations.iterdir() if p.is_dir()) if translations.is_dir() else []
    folders = {locale: edition_folder(locale) for locale in locales}  # a stray folder fails first
    written = []
    for locale in locales:
        for chapter in chapters:
            path = catalog_path(translations, locale, chapter)
            if not path.is_file():
                continue
            target = released / folders[locale] / chapter
            shutil.copytree(released / chapter, target, dirs_exist_ok=True)
            notebook = target / f"{chapter}.ipynb"
            english = nbformat.read(released / chapter / f"{chapter}.ipynb", as_version=4)
            translated = write_translated(english, read_catalog(path, locale))
            # Generated files point at their sources: the English notebook and this catalog.
            translated.metadata.setdefault("backprop_lab", {})["translated_with"] = \
                f"{TRANSLATIONS}/{locale}/{chapter}.po"
            nbformat.write(translated, notebook)
            written.append(notebook)
    return written


def english_runs(markdown: str, words: int = 6) -> list[str]:
    """Runs of ``words`` or more English words in ``markdown`` outside code, maths, links and
    HTML tags: a translated cell that still holds one was probably left half done."""
    prose = re.sub(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|<[^>]+>|\[[^\]]*\]\([^)]*\)|https?://\S+", " ",
                   markdown, flags=re.S)
    word = r"[A-Za-z][A-Za-z0-9'’-]*"
    return re.findall(rf"{word}(?:[ \t,;:()\"/-]+{word}){{{words - 1},}}", prose)


# -- extract and status ---------------------------------------------------------------------------

@dataclass
class Report:
    """How complete one chapter's catalog is."""

    chapter: str
    total: int = 0
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    def line(self) -> str:
        done = self.total - len(self.missing) - len(self.stale)
        text = f"{self.chapter}: {done}/{self.total} translated"
        if self.stale:
            text += f"; stale (English changed, review): {', '.join(self.stale)}"
        if self.missing:
            text += f"; missing: {', '.join(self.missing)}"
        return text


def check_catalog(source_nb: NotebookNode, catalog: Catalog, chapter: str) -> Report:
    """Which messages of ``source_nb`` have no translation, and which have a stale one."""
    report = Report(chapter)
    current = current_translations(catalog)
    by_key = {split_context(entry.context)[0]: entry for entry in catalog if entry.id and entry.context}
    for message in notebook_messages(source_nb):
        report.total += 1
        entry = catalog.get(message.text, context=message.context)
        if message.context in current:
            continue
        old = entry or by_key.get(message.key)
        (report.stale if old is not None and old.string else report.missing).append(message.key)
    return report


def update_catalog(source_nb: NotebookNode, catalog: Catalog) -> Catalog:
    """A catalog with one entry per message of ``source_nb``, in notebook order.

    An entry whose English is unchanged keeps its translation and flags, even when its cell got
    a new id (the percent-format sources number unnamed cells by position, so inserting a cell
    renames the ones after it); one whose English changed keeps the old translation, flagged
    fuzzy with the previous English; entries for cells that are gone are kept as obsolete
    (``#~``), so a moved cell's translation survives.
    """
    updated = new_catalog(catalog.locale, creation_date=catalog.creation_date,
                          revision_date=catalog.revision_date)
    old_by_key, old_by_text = {}, {}
    for entry in list(catalog) + list(catalog.obsolete.values()):
        if entry.id and entry.context:
            old_by_key.setdefault(split_context(entry.context)[0], entry)
            if entry.string and not entry.fuzzy:
                old_by_text.setdefault(entry.id, entry)
    used = set()
    for message in notebook_messages(source_nb):
        same = catalog.get(message.text, context=message.context) or old_by_text.get(message.text)
        old = same or old_by_key.get(message.key)
        flags, previous, string = set(), (), ""
        if old is not None:
            used.add(old.context)
            string = old.string
            flags = set(old.flags) if same is not None else ({FUZZY} if string else set())
            previous = old.previous_id if same is not None else ((old.id,) if string else ())
        entry = updated.add(message.text, string, flags=flags, previous_id=previous,
                            context=message.context, auto_comments=[_describe(message)])
        # Babel guesses Python format strings from braces; here braces are LaTeX, not placeholders.
        entry.flags -= {"python-format", "python-brace-format"}
    for entry in list(catalog) + list(catalog.obsolete.values()):
        if entry.id and entry.context and entry.string and entry.context not in used:
            updated.obsolete[(entry.id, entry.context)] = entry
    return updated


def _describe(message: Message) -> str:
    kind, _, name = message.part.partition(":")
    what = {"md": "markdown cell", "doc": f"docstring of {name}", "comment": "comment"}[kind]
    return f"{what} (cell {message.cell_id})"


def extract(solutions: Path, translations: Path, locale: str, chapters: list[str] | None = None,
            out=print) -> int:
    """Update the chapters' catalogs for ``locale`` from ``solutions/`` (default: the chapters that
    have one; name a chapter to start its catalog); write only the files that changed."""
    for chapter in chapters or _started(solutions, translations, locale):
        source_nb = nbformat.read(solutions / chapter / f"{chapter}.ipynb", as_version=4)
        path = catalog_path(translations, locale, chapter)
        old = read_catalog(path, locale)
        new = update_catalog(source_nb, old)
        before = path.read_text(encoding="utf-8") if path.is_file() else ""
        if catalog_text(new) != before:
            write_atomic(path, catalog_text(new))
            out(f"updated {path}")
        out(check_catalog(source_nb, new, chapter).line())
    return 0


def _started(solutions: Path, translations: Path, locale: str) -> list[str]:
    return [chapter for chapter in chapter_ids(solutions)
            if catalog_path(translations, locale, chapter).is_file()]


def status(solutions: Path, translations: Path, locale: str, chapters: list[str] | None = None,
           out=print) -> int:
    """Print each chapter's completeness; 1 when a catalog has missing or stale entries
    (a chapter without a catalog is listed as not started, and is not an error)."""
    problems = 0
    for chapter in chapters or chapter_ids(solutions):
        path = catalog_path(translations, locale, chapter)
        if not path.is_file():
            out(f"{chapter}: not started (`extract {locale} {chapter}` starts its catalog)")
            continue
        source_nb = nbformat.read(solutions / chapter / f"{chapter}.ipynb", as_version=4)
        report = check_catalog(source_nb, read_catalog(path, locale), chapter)
        out(report.line())
        problems += bool(report.missing or report.stale)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Translation catalogs of the chapters (gettext .po).")
    parser.add_argument("command", choices=["extract", "status"])
    parser.add_argument("locale", help="a locale such as zh_CN: catalogs live in translations/<locale>/")
    parser.add_argument("chapters", nargs="*", help="chapter folders (default: those with a catalog)")
    parser.add_argument("--course", help="the course folder (default: found from the working directory)")
    args = parser.parse_args(argv)
    try:
        Locale.parse(args.locale)
    except (ValueError, TypeError, UnknownLocaleError) as error:
        print(f"error: {args.locale!r} is not a locale ({error}); use a tag such as zh_CN or fr_FR")
        return 2
    course = course_and_chapters(args.course, args.chapters)
    if course is None:
        return 2
    command = extract if args.command == "extract" else status
    return command(course.solutions, course.root / TRANSLATIONS, args.locale, args.chapters or None)


if __name__ == "__main__":
    sys.exit(main())
