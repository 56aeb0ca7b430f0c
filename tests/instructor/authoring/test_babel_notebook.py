"""The text of the notebooks' code cells: ``tr("...")`` literals extracted by Babel
(autograder/instructor/authoring/babel_notebook.py), every one translated, and Chinese at run time."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from autograder import i18n

babel = pytest.importorskip("babel", reason="Babel is the [instructor] extra's; the extractor needs it")
from babel.messages.extract import extract, extract_from_dir  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

from autograder.instructor.authoring.babel_notebook import extract_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _notebook(*cells: dict) -> io.BytesIO:
    return io.BytesIO(json.dumps({"cells": list(cells), "metadata": {}, "nbformat": 4,
                                  "nbformat_minor": 5}).encode("utf-8"))


def _code(source: str | list[str], cell_id: str = "c") -> dict:
    return {"cell_type": "code", "id": cell_id, "source": source, "metadata": {}, "outputs": [],
            "execution_count": None}


# babel.cfg's [notebook: **.ipynb] keywords: tr() translates at run time; N_() marks a label that is a key.
NOTEBOOK_KEYWORDS = {"tr": None, "N_": None}


def _found(fileobj: io.BytesIO) -> list[tuple]:
    return list(extract(extract_notebook, fileobj, keywords=NOTEBOOK_KEYWORDS))


def test_literal_tr_calls_of_code_cells_are_extracted_with_their_cell_and_line():
    nb = _notebook(
        _code(["%matplotlib inline\n", "from autograder.i18n import tr\n"], "setup"),
        {"cell_type": "markdown", "id": "m", "source": 'tr("not code: never extracted")', "metadata": {}},
        _code('ax.set_title(tr("step h"))\nprint(tr("{n} parameters").format(n=3))', "demo"),
        _code(["fig.suptitle(\n", "    tr('two lines,'\n", "       ' one message')\n", ")"], "plot"))
    assert _found(nb) == [
        (3, "step h", ["cell demo"], None),
        (4, "{n} parameters", ["cell demo"], None),
        (6, "two lines, one message", ["cell plot"], None),
    ]


def test_only_literals_are_extracted_and_other_calls_are_not():
    nb = _notebook(_code('tr(name)\ntr(f"{x} items")\nprint("plain")\n_("not a notebook keyword")\n'
                         'tr("kept")'))
    assert [message for _line, message, _comments, _context in _found(nb)] == ["kept"]


def test_a_label_that_is_a_key_is_extracted_from_its_n_marker_and_keeps_its_english_value():
    nb = _notebook(_code('COLORS = {N_("He normal"): "#a6611a", "N(0, 1²)": "#7b3294"}\n'
                         'for label in COLORS:\n    ax.plot(x, label=tr(label))', "init"))
    assert _found(nb) == [(1, "He normal", ["cell init"], None)]
    assert i18n.N_("He normal") == "He normal"  # the key stays English in every edition
    with i18n.language("zh_CN"):
        assert i18n.N_("He normal") == "He normal"


def test_babel_cfg_extracts_the_same_keywords_from_notebooks_as_these_tests():
    config = (ROOT / "babel.cfg").read_text(encoding="utf-8")
    section = re.search(r"^\[notebook: \*\*\.ipynb\]\n(.*?)(?=^\[|\Z)", config, re.M | re.S)
    keywords = re.search(r"^keywords\s*=\s*(.*)$", section.group(1) if section else "", re.M)
    assert keywords and set(keywords.group(1).split()) == set(NOTEBOOK_KEYWORDS), (
        f"babel.cfg's notebook keywords are {keywords.group(1) if keywords else None!r}, expected "
        f"{' '.join(NOTEBOOK_KEYWORDS)}: `make messages` and these tests must extract the same calls")


def test_a_hidden_tests_text_never_reaches_the_catalog_that_ships_to_learners():
    nb = _notebook(_code(["check(x, hint=tr('visible'))\n", "    ### BEGIN HIDDEN TESTS\n",
                          "    check(y, hint=tr('hidden'))\n", "    ### END HIDDEN TESTS\n", "tr('after')"]))
    assert [(line, message) for line, message, _comments, _context in _found(nb)] == [(1, "visible"),
                                                                                       (5, "after")]


def _texts(fileobj: io.BytesIO, tests: str = "visible") -> list[tuple[int, str]]:
    return [(line, message) for line, message, _comments, _context in
            extract(extract_notebook, fileobj, keywords=NOTEBOOK_KEYWORDS, options={"tests": tests})]


TEST_CELL = [
    'with exercise("neuron"):\n',
    '    check_close(out, want, name="value of n3, the output", hint=tr("sum the inputs first"))\n',
    '    for index, label in enumerate(nets):\n',
    '        check_shape(W, (2, 3), name=f"W of layer {index + 1} of {label!r} ({loss:.3f})")\n',
    '    check_equal(dW, want, name="dW")  # code stays English\n',
    '    check_equal(y, want, name=f"dW[{index}]")\n',
    '    layer = Dense(5, name="a layer name, not a check\'s")\n',
    '    ### BEGIN HIDDEN TESTS\n',
    '    checks.check_close(out, want, name="the hidden value of n3")\n',
    '    check_close(out, want, hint=RUNNING_STATISTICS_HINT)\n',
    '    ### END HIDDEN TESTS\n',
]


def test_a_checks_name_and_hint_texts_are_extracted_and_an_f_strings_as_its_template():
    assert _texts(_notebook(_code(TEST_CELL, "neuron__tests"))) == [
        (2, "sum the inputs first"),  # a tr() call, as before
        (2, "value of n3, the output"),
        (4, "W of layer {index + 1} of {label!r} ({loss:.3f})"),
    ]


def test_the_hidden_option_extracts_the_hidden_tests_texts_alone():
    assert _texts(_notebook(_code(TEST_CELL, "neuron__tests")), "hidden") == [(9, "the hidden value of n3")]
    with pytest.raises(ValueError, match="'visible' or 'hidden'"):
        _texts(_notebook(_code("x = 1")), "all")


def test_babel_hidden_cfg_extracts_the_hidden_tests_with_the_same_keywords():
    config = (ROOT / "babel_hidden.cfg").read_text(encoding="utf-8")
    assert re.search(r"^tests\s*=\s*hidden$", config, re.M), "babel_hidden.cfg must say tests = hidden"
    keywords = re.search(r"^keywords\s*=\s*(.*)$", config, re.M)
    assert keywords and set(keywords.group(1).split()) == set(NOTEBOOK_KEYWORDS)


def test_a_file_that_is_not_a_notebook_is_refused_by_name():
    fileobj = io.BytesIO(b'{"cells": 3}')
    fileobj.name = "broken.ipynb"
    with pytest.raises(ValueError, match="broken.ipynb is not a notebook"):
        _found(fileobj)


def _solution_messages() -> set[str]:
    """What ``make messages`` extracts from the solutions (babel.cfg's notebook section)."""
    found = extract_from_dir(str(ROOT / "solutions"), method_map=[("**.ipynb", extract_notebook)],
                             keywords=NOTEBOOK_KEYWORDS)
    return {message for _file, _line, message, _comments, _context in found if message}


CATALOGS = sorted(i18n.LOCALE_DIR.glob(f"*/LC_MESSAGES/{i18n.DOMAIN}.po"))


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parts[-3])
def test_every_tr_literal_of_the_solutions_has_a_current_translation(po):
    with open(po, "rb") as handle:
        catalog = {m.id: m for m in read_po(handle, locale=po.parts[-3]) if m.id}
    problems = []
    for message in sorted(_solution_messages()):
        entry = catalog.get(message)
        if entry is None or not entry.string:
            problems.append(f"untranslated: {message!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy (English changed, review): {message!r}")
        elif (po.parts[-3].startswith("zh") and not CJK.search(entry.string)
              and re.search(r"[a-z]{3,} [a-z]{3,}", message)):
            problems.append(f"left in English: {message!r}")
    assert not problems, (f"{po}: " + "; ".join(problems[:8]) + f" ({len(problems)} in all). Run `make "
                          "messages`, then translate the new entries.")


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parts[-3])
def test_no_translation_puts_cjk_into_a_mathtext_string(po):
    """matplotlib draws a text with $...$ in it all with mathtext, whose fonts have no CJK glyphs: boxes.
    Such a translation writes its maths in Unicode instead ('隐藏空间 (h₁, h₂)')."""
    with open(po, "rb") as handle:
        catalog = {m.id: m.string for m in read_po(handle, locale=po.parts[-3]) if m.id}
    boxes = [message for message in _solution_messages()
             if CJK.search(catalog.get(message) or "") and re.search(r"\$[^$]+\$", catalog[message])]
    assert not boxes, f"{po}: CJK beside $maths$ in the translations of {boxes}: write the maths in Unicode."


def test_the_solutions_mark_their_figure_text():
    assert len(_solution_messages()) >= 20, "the solutions' figure titles and labels are not marked with tr()"


def test_tr_is_chinese_in_a_chinese_kernel_and_the_message_itself_in_english():
    with i18n.language("zh_CN"):
        chinese = i18n.tr("step h")
    assert CJK.search(chinese), f"tr('step h') in zh_CN gave {chinese!r}, not Chinese: run `make messages`"
    with i18n.language("en"):
        assert i18n.tr("step h") == "step h"
    assert i18n.tr("a message no catalog has") == "a message no catalog has"
