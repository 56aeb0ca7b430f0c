"""The chapters' English is plain: short sentences, one spelling, no idioms (issue #22).

A learner who reads English as a second language must not stumble, and the Chinese
edition is translated from this text. The rules are measured on every markdown cell of
the instructor notebooks (the student versions carry the same text):

- no sentence longer than MAX_WORDS words, and the mean length of a chapter's full
  sentences (ending in . ? or !, headings and short list items left out) at most
  MAX_MEAN_WORDS (maths, code spans and link texts count as one word each);
- American spelling (the course chose "-ize", "-or", "-er": docs/STYLE.md);
- none of the idioms a reviewer tripped over.
"""

from __future__ import annotations

import re
from pathlib import Path
from statistics import mean

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "solutions").glob("*/*.ipynb"))
MAX_WORDS = 35
MAX_MEAN_WORDS = 18.0

# British forms and their American spelling; matched as word prefixes, case-insensitively.
BRITISH = {
    "recognis": "recogniz", "initialis": "initializ", "normalis": "normaliz", "optimis": "optimiz",
    "regularis": "regulariz", "generalis": "generaliz", "minimis": "minimiz", "maximis": "maximiz",
    "vectoris": "vectoriz", "summaris": "summariz", "standardis": "standardiz", "randomis": "randomiz",
    "realis": "realiz", "visualis": "visualiz", "memoris": "memoriz", "parameteris": "parameteriz",
    "behaviour": "behavior", "colour": "color", "neighbour": "neighbor", "centre": "center",
    "modelling": "modeling", "modelled": "modeled", "labelled": "labeled", "labelling": "labeling",
    "travelled": "traveled", "analyse": "analyze", "favour": "favor", "honour": "honor",
}
# Chapters still being rewritten (strict: remove a chapter here once its test passes).
PENDING = {
    "test_sentences_are_short": set(),
    "test_mean_sentence_length": set(),
    "test_one_spelling_and_no_idioms": set(),
}
IDIOMS = ("earns its keep", "under the old model's feet", "for free", "the lion's share", "rule of thumb",
          "in a nutshell", "bread and butter", "out of the box", "on the fly", "ballpark")


def prose(source: str) -> str:
    """The cell's running text: no code, maths, tables, link targets, HTML or heading marks."""
    text = re.sub(r"```.*?```", " ", source, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " X. ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", "X", text)
    text = re.sub(r"`[^`\n]+`", "X", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>\n]+>", " ", text)
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("|")]
    return "\n".join(lines)


def sentences(source: str) -> list[str]:
    """Sentences of a markdown cell; a blank line, a heading or a list item also ends one."""
    found = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.|#+|>)\s)", prose(source)):
        block = re.sub(r"^\s*(?:[-*+]|\d+\.|#+|>)+\s*", "", block.replace("\n", " "))
        found += [s.strip() for s in re.split(r"(?<=[.!?;:])\s+(?=[A-Z(\"'X])", block) if s.strip()]
    return found


def words(sentence: str) -> int:
    return len([w for w in re.split(r"\s+", sentence) if re.search(r"[A-Za-z0-9]", w)])


def chapters(test: str) -> list:
    return [pytest.param(p, id=p.stem[:2], marks=pytest.mark.xfail(strict=True, reason="being rewritten"))
            if p.stem[:2] in PENDING[test] else pytest.param(p, id=p.stem[:2]) for p in CHAPTERS]


def markdown_cells(path: Path) -> list[tuple[int, str]]:
    nb = nbformat.read(str(path), as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", chapters("test_sentences_are_short"))
def test_sentences_are_short(path):
    long = [f"cell {i} ({words(s)} words): {s[:90]}..." for i, src in markdown_cells(path)
            for s in sentences(src) if words(s) > MAX_WORDS]
    assert not long, (f"{path.name}: {len(long)} sentences over {MAX_WORDS} words; split them:\n"
                      + "\n".join(long))


@pytest.mark.parametrize("path", chapters("test_mean_sentence_length"))
def test_mean_sentence_length(path):
    lengths = [words(s) for _, src in markdown_cells(path) for s in sentences(src)
               if s.endswith((".", "?", "!")) and words(s) > 3]
    assert mean(lengths) <= MAX_MEAN_WORDS, (
        f"{path.name}: sentences average {mean(lengths):.1f} words; aim for {MAX_MEAN_WORDS} or fewer")


@pytest.mark.parametrize("path", chapters("test_one_spelling_and_no_idioms"))
def test_one_spelling_and_no_idioms(path):
    found = []
    for i, src in markdown_cells(path):
        text = prose(src)
        for british, american in BRITISH.items():
            for match in re.finditer(rf"\b{british}\w*", text, flags=re.I):
                found.append(f"cell {i}: '{match.group(0)}' -> American '{american}...'")
        found += [f"cell {i}: idiom '{idiom}'" for idiom in IDIOMS if idiom in text.lower()]
    assert not found, f"{path.name}:\n" + "\n".join(found)


def test_the_sentence_splitter():
    cell = "## §1.1 A title\n\nOne short sentence. Another one ($x^2$ counts once).\n\n- an item\n- two"
    assert sentences(cell) == ["§1.1 A title", "One short sentence.", "Another one (X counts once).",
                               "an item", "two"]
    assert words("Another one (X counts once).") == 5
