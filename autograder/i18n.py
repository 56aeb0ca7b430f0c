"""The language of every message a learner reads: gettext catalogs, one per language, no code per language.

    from .i18n import N_, _

    raise CheckFailed(_("{name}: expected {wanted}, got {got}.").format(name=..., ...))
    HINT = N_("a constant, marked for extraction")   # translated where it is used: _(HINT)

A notebook's code cells use ``tr`` (the same lookup; IPython keeps ``_`` for the last result), so a figure's
title or a sentence a test cell prints is the same code in both editions and Chinese in a Chinese kernel:

    ax.set_title(tr("step h"))
    print(tr("{n} parameters").format(n=count))     # placeholders, never an f-string inside tr()

The catalogs are ``autograder/locale/<locale>/LC_MESSAGES/backprop_lab.po``, compiled to ``.mo``
beside them and shipped in the package (``make messages`` extracts, updates and compiles them with
Babel; docs/TRANSLATING.md). A third language is a new catalog, not new code.

Which language, first match wins:

1. ``language(...)`` in effect (the self-check's report, a feedback page: the submission's language);
2. the environment variable ``BACKPROP_LAB_LANG`` (``zh``, ``zh_CN``, ``en``): the override, and how
   the grader tells a sandboxed kernel the submission's language;
3. the notebook this kernel runs: its metadata ``"language"`` (a Chinese edition says ``"zh_CN"``),
   found through ``JPY_SESSION_NAME`` (JupyterLab gives a kernel its notebook's path) or as
   ``<folder>/<folder>.ipynb`` in the working folder (nbval and nbclient start the kernel there);
4. English, the msgids themselves: an English message is byte for byte what it was before.

The shell's own ``LANG`` and ``LANGUAGE`` are never read: an English notebook stays English, and its
stored outputs stay the same, on a machine whose desktop speaks Chinese.
"""

from __future__ import annotations

import contextvars
import functools
import gettext
import json
import os
import re
import struct
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["DOMAIN", "ENV_VAR", "HIDDEN_DOMAIN", "HIDDEN_LOCALE_DIR", "LOCALE_DIR", "N_", "_",
           "chosen_language", "current_language", "display_width", "label", "language", "metadata_language",
           "notebook_language", "pad_text", "submission_language", "tr", "translations"]

DOMAIN = "backprop_lab"
LOCALE_DIR = Path(__file__).parent / "locale"
ENV_VAR = "BACKPROP_LAB_LANG"
# The hidden tests' own texts (their check names and hints), in a catalog of the instructor's package,
# which never ships to learners (student_release leaves ``autograder.instructor`` out); the grader,
# which runs the hidden tests, finds it there.
HIDDEN_DOMAIN = "backprop_lab_hidden"
HIDDEN_LOCALE_DIR = Path(__file__).parent / "instructor" / "locale"

# A language code, nothing else: a notebook's metadata is the student's to write, and gettext joins
# the code into a path.
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(_[A-Za-z]{2,4})?")
_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("backprop_lab_language", default=None)


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for "mark, translate later")
    """Mark a constant for extraction; it is translated where it is shown, with ``_()`` (``tr()`` in a
    notebook's code cell, where the constant stays English as a key: ``{N_("He normal"): he_normal}``)."""
    return message


def _(message: str) -> str:
    """``message`` in the current language; itself when the language is English or has no entry."""
    return translations(current_language()).gettext(message)


def tr(message: str) -> str:
    """``_`` for notebooks' code cells: ``message`` in the kernel's language, itself in English.

    Its own name because IPython binds ``_`` to the last result; ``make messages`` extracts the literal
    ``tr("...")`` calls of ``solutions/*/*.ipynb`` (authoring/babel_notebook.py) into this catalog.
    """
    return _(message)


def label(text: str) -> str:
    """A test's own text, its ``name=`` or ``hint=`` ("value of n3, the output"), in the current language.

    Test cells are byte-identical in both editions and pass their names as plain strings or f-strings,
    so the checks translate them where a message shows them. ``make messages`` extracts the literal
    ones and the f-strings' templates (authoring/babel_notebook.py: ``f"W of layer {index}"`` becomes
    the entry ``W of layer {index}``): a text is its catalog entry when it has one, else the first
    template it matches, its fields filled with what they matched there (a matched field that is itself
    an entry is translated too). English, or a text no entry matches, comes back unchanged.
    """
    catalog = translations(current_language())
    if isinstance(catalog, gettext.GNUTranslations):
        exact = catalog.gettext(text)
        if exact != text or len(text) > _LONGEST_LABEL:
            return exact
        for pattern, fields, translated in _templates(current_language()):
            found = pattern.fullmatch(text)
            if found:
                values = {field: catalog.gettext(value) for field, value in zip(fields, found.groups())}
                return _fill(translated, values)
    return text


_FIELD = re.compile(r"\{([^{}]*)\}")
# A label is a line; a longer text (a value's repr in an f-string) is not matched against the
# templates, whose lazy fields would backtrack over it.
_LONGEST_LABEL = 400


def _field_name(field: str) -> str:
    """The name of a template's ``{field}``, its conversion and format spec left out (``{x!r:>8}``)."""
    depth, cut = 0, len(field)
    for position, char in enumerate(field):
        depth += char in "(["
        depth -= char in ")]"
        if depth == 0 and char in "!:":
            cut = position
            break
    return field[:cut]


def _fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{field}`` replaced by the text it matched (already formatted)."""
    return _FIELD.sub(lambda field: values.get(_field_name(field.group(1)), field.group()), template)


@functools.cache
def _templates(language_code: str) -> list[tuple[re.Pattern[str], list[str], str]]:
    """Every translated catalog entry with ``{fields}``: (the English as a pattern, its fields, the
    translation), longest English first, so the most specific template wins."""
    entries: dict[str, str] = {}
    if isinstance(translations(language_code), gettext.GNUTranslations):  # the catalogs it chains, in order
        for domain, folder in ((DOMAIN, LOCALE_DIR), (HIDDEN_DOMAIN, HIDDEN_LOCALE_DIR)):
            for path in gettext.find(domain, folder, languages=[language_code], all=True):
                for message, translated in _mo_entries(Path(path)):
                    if translated and message != translated:
                        entries.setdefault(message, translated)
    found = []
    for message, translated in sorted(entries.items(), key=lambda entry: -len(entry[0])):
        parts = _FIELD.split(message)
        if len(parts) < 3 or "{{" in message:
            continue
        fields = [_field_name(field) for field in parts[1::2]]
        pattern = "".join(re.escape(part) if index % 2 == 0 else "(.+?)" for index, part in enumerate(parts))
        found.append((re.compile(pattern, re.S), fields, translated))
    return found


def _mo_entries(path: Path) -> list[tuple[str, str]]:
    """A compiled catalog's singular messages and translations, read as the GNU gettext manual documents
    the MO format (gettext's own reader keeps them in a private attribute). Plural and context entries
    are left out: no template has one."""
    data = path.read_bytes()
    order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
    _, _, count, originals, translations_at = struct.unpack(order + "5I", data[:20])
    entries = []
    for index in range(count):
        length, start = struct.unpack_from(order + "2I", data, originals + 8 * index)
        message = data[start:start + length]
        length, start = struct.unpack_from(order + "2I", data, translations_at + 8 * index)
        if message and b"\0" not in message and b"\x04" not in message:
            entries.append((message.decode("utf-8"), data[start:start + length].decode("utf-8")))
    return entries


def display_width(text: str) -> int:
    """The columns ``text`` takes in a monospace font: a wide or full-width character (CJK, the full-width
    colon) takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def pad_text(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` display columns, aligned left ('<'), right ('>') or centered
    ('^'): a printed table's translated cell, which ``f"{text:24s}"`` misaligns because a format spec
    counts characters and a Chinese character takes two columns. For ASCII text it is exactly
    ``format(text, f"{align}{width}")`` (an English output stays byte for byte the same); a text wider
    than ``width`` comes back unpadded. Not ``pad``: chapter 4's convolution code names its padding ``pad``.
    """
    if align not in ("<", ">", "^"):
        raise ValueError(f"pad_text: align must be '<', '>' or '^' (as in a format spec), not {align!r}")
    fill = max(width - display_width(text), 0)
    left = {"<": 0, ">": fill, "^": fill // 2}[align]  # str.format centers with the odd space on the right
    return " " * left + text + " " * (fill - left)


@functools.cache
def translations(language_code: str) -> gettext.NullTranslations:
    """The catalog of ``language_code`` ('zh', 'zh_CN'); English, or a language without a catalog,
    is gettext's ``NullTranslations``, which hands every message back unchanged."""
    if (not _LANGUAGE_CODE.fullmatch(language_code or "")
            or language_code.split("_")[0].lower() in ("en", "c", "posix")):
        return gettext.NullTranslations()
    catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language_code], fallback=True)
    # The hidden tests' texts, where the instructor's package is installed (the grader). gettext hands
    # out a fresh copy of a cached catalog, so the fallback is added to this one only.
    hidden = gettext.translation(HIDDEN_DOMAIN, HIDDEN_LOCALE_DIR, languages=[language_code], fallback=True)
    if isinstance(hidden, gettext.GNUTranslations):
        catalog.add_fallback(hidden)
    return catalog


def metadata_language(metadata: object) -> str:
    """A notebook metadata's ``"language"`` ('zh_CN'), or '' when it names none or not a language code."""
    value = metadata.get("language", "") if isinstance(metadata, dict) else ""
    return value if isinstance(value, str) and _LANGUAGE_CODE.fullmatch(value) else ""


def notebook_language(path: str | os.PathLike[str]) -> str:
    """The ``"language"`` of a notebook file's metadata, or '' (English, unreadable, not a notebook)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return metadata_language(json.load(handle).get("metadata", {}))
    except (OSError, ValueError, AttributeError):
        return ""


@functools.cache
def _kernel_notebook_language() -> str:
    """The language of the notebook this process runs, read once (a kernel runs one notebook)."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session.endswith(".ipynb"):
        return notebook_language(session)
    folder = Path.cwd()
    return notebook_language(folder / f"{folder.name}.ipynb")


def chosen_language() -> str:
    """The language set by ``language(...)`` or ``BACKPROP_LAB_LANG``; '' when neither says one. The
    grader hands it to a grading kernel's environment (sandbox.kernel_environment)."""
    chosen = _override.get()
    return chosen if chosen is not None else os.environ.get(ENV_VAR, "")


def current_language() -> str:
    """The language messages are written in now (see the module's docstring); '' means English."""
    chosen = _override.get()
    if chosen is not None:
        return chosen
    return os.environ.get(ENV_VAR, "") or _kernel_notebook_language()


@contextmanager
def language(language_code: str) -> Iterator[None]:
    """Write messages in ``language_code`` ('' or 'en': English) inside the block, in this thread only."""
    token = _override.set(language_code or "en")
    try:
        yield
    finally:
        _override.reset(token)


@contextmanager
def submission_language(metadata: object, kept_in: dict | None = None) -> Iterator[None]:
    """The block in a submission's language: ``BACKPROP_LAB_LANG``, else its notebook ``metadata``'s
    ``"language"``; English when neither names one. The language is also written into ``kept_in`` (the
    autograded notebook's metadata), so that the feedback page follows it."""
    lang = os.environ.get(ENV_VAR) or metadata_language(metadata)
    if not lang:
        yield
        return
    if kept_in is not None:
        kept_in["language"] = lang
    with language(lang):
        yield
