"""autograder/i18n.py and its catalogs: every message translated, the catalogs current, the language chosen
as documented, English unchanged, and a Chinese notebook's checks speaking Chinese in a real kernel."""

from __future__ import annotations

import copy
import gettext
import re
import string
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import check_close, i18n
from autograder.checks import check_shape
from autograder.hints import RUNNING_STATISTICS_HINT

ROOT = Path(__file__).resolve().parents[1]
POT = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"
CATALOGS = sorted(i18n.LOCALE_DIR.glob(f"*/LC_MESSAGES/{i18n.DOMAIN}.po"))
# The grader's own catalog of the hidden tests' texts (never shipped to learners), kept as the other is.
HIDDEN_POT = i18n.HIDDEN_LOCALE_DIR / f"{i18n.HIDDEN_DOMAIN}.pot"
HIDDEN_CATALOGS = sorted(i18n.HIDDEN_LOCALE_DIR.glob(f"*/LC_MESSAGES/{i18n.HIDDEN_DOMAIN}.po"))
CJK = re.compile(r"[\u4e00-\u9fff]")

babel = pytest.importorskip("babel", reason="Babel is the [instructor] extra's; the catalogs' tests need it")
from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402


def _read(path: Path, locale: str | None = None):
    with open(path, "rb") as handle:
        return read_po(handle, locale=locale)


def _placeholders(text: str) -> list[tuple[str, str]]:
    """(field, format spec) of every {placeholder}, sorted: a translation must keep exactly these."""
    return sorted((field or "", spec or "") for _literal, field, spec, _conv in string.Formatter().parse(text)
                  if field is not None)


def _source_messages() -> set[str]:
    """The msgids that ``make messages`` would extract now (babel.cfg: _ and N_ in the package, tr and N_
    in the solutions' code cells)."""
    from autograder.instructor.authoring.babel_notebook import extract_notebook

    found = [*extract_from_dir(str(ROOT / "autograder"), method_map=[("**.py", "python")],
                               keywords={"_": None, "N_": None}),
             *extract_from_dir(str(ROOT / "solutions"), method_map=[("**.ipynb", extract_notebook)],
                               keywords={"tr": None, "N_": None})]
    return {message for _file, _line, message, _comments, _context in found if message}


def _hidden_source_messages() -> set[str]:
    """The msgids of the hidden tests (babel_hidden.cfg: their checks' names and hints, their tr calls)."""
    from autograder.instructor.authoring.babel_notebook import extract_notebook

    found = extract_from_dir(str(ROOT / "solutions"), method_map=[("**.ipynb", extract_notebook)],
                             options_map={"**.ipynb": {"tests": "hidden"}}, keywords={"tr": None, "N_": None})
    return {message for _file, _line, message, _comments, _context in found if message}


def test_there_is_a_chinese_catalog():
    assert [p.parts[-3] for p in CATALOGS] == ["zh_CN"], CATALOGS
    assert [p.parts[-3] for p in HIDDEN_CATALOGS] == ["zh_CN"], HIDDEN_CATALOGS


@pytest.mark.parametrize("pot, source", [(POT, _source_messages), (HIDDEN_POT, _hidden_source_messages)],
                         ids=["learners", "hidden"])
def test_the_template_is_current_with_the_source(pot, source):
    template = {m.id for m in _read(pot) if m.id}
    extracted = source()
    assert extracted == template, (
        f"{pot.name}: new in the source: {sorted(extracted - template)[:5]}; "
        f"gone from it: {sorted(template - extracted)[:5]}. Run `make messages`, then translate the new "
        f"entries in {pot.parent}/*/LC_MESSAGES/*.po.")


def test_no_hidden_tests_text_is_in_the_catalog_that_ships_to_learners():
    shipped = {m.id for po in CATALOGS for m in _read(po) if m.id}
    hidden_only = _hidden_source_messages() - _source_messages()
    assert hidden_only, "the hidden tests have no text of their own: is babel_hidden.cfg extracting?"
    assert not hidden_only & shipped, sorted(hidden_only & shipped)[:5]


@pytest.mark.parametrize("pot, po", [(POT, po) for po in CATALOGS]
                         + [(HIDDEN_POT, po) for po in HIDDEN_CATALOGS], ids=lambda value: value.name)
def test_every_message_has_a_current_translation_with_the_same_placeholders(pot, po):
    catalog = _read(po, po.parts[-3])
    by_id = {m.id: m for m in catalog if m.id}
    problems = []
    for message in (m for m in _read(pot) if m.id):
        entry = by_id.get(message.id)
        if entry is None or not entry.string:
            problems.append(f"untranslated: {message.id!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy (English changed, review): {message.id!r}")
        elif _placeholders(entry.string) != _placeholders(message.id):
            problems.append(f"placeholders {_placeholders(entry.string)} != {_placeholders(message.id)}: "
                            f"{message.id!r}")
        elif po.parts[-3].startswith("zh") and not CJK.search(entry.string) and message.id.strip(" .:;"):
            if re.search(r"[A-Za-z]{3,} [a-z]{3,}", entry.string):  # a sentence left in English
                problems.append(f"left in English: {message.id!r}")
    assert not problems, (f"{po}: " + "; ".join(problems[:8])
                          + f" ({len(problems)} in all). Run `make messages`, then translate.")


@pytest.mark.parametrize("po", CATALOGS + HIDDEN_CATALOGS, ids=lambda p: p.name)
def test_the_compiled_catalog_is_the_catalog(po):
    """The .mo that ships in the package says what the .po says (``make messages`` compiles it)."""
    mo = po.with_suffix(".mo")
    assert mo.is_file(), f"{mo} is missing: run `make messages`."
    with open(mo, "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    wanted = {m.id: m.string for m in _read(po, po.parts[-3]) if m.id and m.string and not m.fuzzy}
    shipped = {k: v for k, v in compiled._catalog.items() if k}  # noqa: SLF001 (gettext has no public listing)
    assert shipped == wanted, f"{mo} is older than {po.name}: run `make messages`."


# -- Choosing the language -------------------------------------------------------------------------


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """No override, no notebook: a clean slate for the detection."""
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    i18n._kernel_notebook_language.cache_clear()
    yield tmp_path
    i18n._kernel_notebook_language.cache_clear()


def _notebook(path: Path, language: str | None) -> Path:
    nb = nbformat.v4.new_notebook()
    if language is not None:
        nb.metadata["language"] = language
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def _failure(check) -> str:
    with pytest.raises(AssertionError) as caught:
        check()
    return str(caught.value)


def test_english_is_the_msgid_itself_whatever_the_shell_says(fresh, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    assert i18n.current_language() == ""
    message = _failure(lambda: check_close(np.ones(3) * 2, np.ones(3), name="y"))
    assert message == ("y: 3 of 3 entries differ. First at index (0,): expected 1, got 2. Largest error 1 at "
                       "index (0,) (tolerance 1e-10 + 1e-07*|expected|). Hint: every entry is 2.0x the "
                       "expected value — a sum where a mean belongs, or a missing 1/N?")


def test_the_environment_variable_chooses_chinese(fresh, monkeypatch):
    monkeypatch.setenv(i18n.ENV_VAR, "zh")
    message = _failure(lambda: check_shape(np.ones((2, 3)), (3, 2), name="W"))
    assert message.startswith("W：形状应为 (3, 2)，得到的是 (2, 3)。"), message
    assert "权重转置了吗" in message


def test_a_notebooks_metadata_chooses_through_jupyterlabs_session_name(fresh, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(_notebook(fresh / "elsewhere" / "a.ipynb", "zh_CN")))
    assert i18n.current_language() == "zh_CN"
    assert CJK.search(_failure(lambda: check_close(1.0, 2.0)))


def test_a_notebook_named_after_its_folder_in_the_working_folder_chooses(fresh, monkeypatch):
    folder = fresh / "01_neural_network_basics"
    _notebook(folder / "01_neural_network_basics.ipynb", "zh_CN")
    monkeypatch.chdir(folder)
    assert i18n.current_language() == "zh_CN"
    _notebook(folder / "01_neural_network_basics.ipynb", None)
    i18n._kernel_notebook_language.cache_clear()
    assert i18n.current_language() == ""


def test_the_override_wins_and_language_blocks_nest(fresh, monkeypatch):
    monkeypatch.setenv(i18n.ENV_VAR, "en")
    monkeypatch.setenv("JPY_SESSION_NAME", str(_notebook(fresh / "b.ipynb", "zh_CN")))
    assert i18n._("passed") == "passed"
    with i18n.language("zh_CN"):
        assert i18n._("passed") == "通过"
        with i18n.language(""):
            assert i18n._("passed") == "passed"
        assert i18n.chosen_language() == "zh_CN"
    assert i18n._("passed") == "passed"


@pytest.mark.parametrize("code", ["../../../tmp/x", "zh_CN/../..", "", "fr", "zh CN", "x" * 40])
def test_a_language_that_is_not_a_code_or_has_no_catalog_is_english(code):
    assert i18n.translations(code).gettext("passed") == "passed"
    assert i18n.metadata_language({"language": code}) in ("", "fr")


def test_a_tests_label_is_english_unchanged_and_its_catalog_entry_in_chinese(fresh):
    assert i18n.label("relu_grad against torch.autograd") == "relu_grad against torch.autograd"
    with i18n.language("zh_CN"):
        chinese = i18n.label("relu_grad against torch.autograd")
        assert CJK.search(chinese) and "relu_grad" in chinese, chinese
        assert i18n.label("no entry says this") == "no entry says this"


def test_an_f_string_label_matches_its_template_and_keeps_the_values_it_matched(fresh):
    english = "W of layer 2 of a 3-layer net"  # f"W of layer {index} of {label}"
    assert i18n.label(english) == english
    with i18n.language("zh_CN"):
        template = i18n._("W of layer {index} of {label}")
        chinese = i18n.label(english)
    assert CJK.search(template), "the template has no translation: run `make messages` and translate"
    assert chinese == template.format(index="2", label="a 3-layer net"), chinese


def test_a_very_long_label_is_shown_as_it_is_at_once(fresh):
    import time

    text = "W of layer " + "1 of " * 20_000 + "x"  # a value's repr inside an f-string name, say
    started = time.process_time()
    with i18n.language("zh_CN"):
        assert i18n.label(text) == text
    assert time.process_time() - started < 1.0, "the templates backtracked over a long text"


def test_a_hidden_tests_label_comes_from_the_graders_own_catalog(fresh):
    hidden_only = sorted(_hidden_source_messages() - _source_messages())
    literal = next(text for text in hidden_only if "{" not in text)
    with i18n.language("zh_CN"):
        assert CJK.search(i18n.label(literal)), f"{literal!r} is not translated in the hidden tests' catalog"


def test_a_check_shows_its_name_in_the_learners_language(fresh):
    with i18n.language("zh_CN"):
        message = _failure(lambda: check_close(np.ones(2), np.zeros(2),
                                               name="relu_grad against torch.autograd"))
    assert "against" not in message and "relu_grad" in message, message


def test_a_tests_own_hint_is_translated_when_the_catalog_knows_it(fresh, monkeypatch):
    monkeypatch.setenv(i18n.ENV_VAR, "zh_CN")
    message = _failure(lambda: check_close(np.ones(2), np.zeros(2), hint=RUNNING_STATISTICS_HINT))
    assert "PyTorch 的 momentum 加权的是新批次的统计量" in message
    assert RUNNING_STATISTICS_HINT not in message


# -- Through a real kernel: a chapters/zh notebook with a wrong answer ------------------------------


def _first_exercise(edition: str) -> nbformat.NotebookNode:
    """The setup cell, the first exercise with a wrong answer, and its test cell, of chapter 1."""
    folder = ROOT / "chapters" / edition if edition else ROOT / "chapters"
    source = nbformat.read(str(folder / "01_neural_network_basics" / "01_neural_network_basics.ipynb"),
                           as_version=4)
    nb = copy.deepcopy(source)
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in source.cells}
    answer = copy.deepcopy(by_id["count_parameters"])
    answer.source = "def count_parameters(layer_sizes):\n    return 0\n"
    nb.cells = [by_id["setup"], answer, by_id["count_parameters__tests"]]
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("edition, words", [("zh", "应为"), ("", "expected")])
def test_a_wrong_answer_in_a_chinese_notebook_gets_a_chinese_message_in_its_kernel(tmp_path, monkeypatch,
                                                                                      edition, words):
    from nbclient import NotebookClient

    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    folder = tmp_path / "01_neural_network_basics"
    folder.mkdir()
    nb = _first_exercise(edition)
    nbformat.write(nb, str(folder / "01_neural_network_basics.ipynb"))  # the kernel finds it by its folder
    NotebookClient(nb, timeout=300, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    errors = [output for output in nb.cells[2].outputs if output.output_type == "error"]
    assert errors, f"the wrong answer passed: {nb.cells[2].outputs}"
    shown = "\n".join(errors[0].traceback)
    assert "count_parameters" in shown and words in shown, shown
    assert bool(CJK.search(shown)) == (edition == "zh"), shown


@pytest.mark.parametrize("align", ["<", ">", "^"])
@pytest.mark.parametrize("text", ["", "a", "mean radius", "L2, lambda = 0.01", "odd"])
@pytest.mark.parametrize("width", [0, 3, 10, 24])
def test_pad_text_is_str_format_for_ascii_text(text: str, width: int, align: str) -> None:
    """An English table stays byte for byte what ``f"{text:{align}{width}}"`` printed before ``pad_text``."""
    got, wanted = i18n.pad_text(text, width, align), format(text, f"{align}{width}")
    assert got == wanted, f"pad_text({text!r}, {width}, {align!r}) is {got!r}, str.format gives {wanted!r}"


@pytest.mark.parametrize("align", ["<", ">", "^"])
def test_pad_text_lines_up_chinese_columns_by_display_width(align: str) -> None:
    """A Chinese character takes two columns: padded Chinese, mixed and ASCII cells are equally wide."""
    cells = ["平均半径", "L2 正则化，lambda = 0.01", "dropout", "预热 + 余弦退火"]
    widths = {text: i18n.display_width(i18n.pad_text(text, 30, align)) for text in cells}
    assert set(widths.values()) == {30}, f"pad_text(text, 30, {align!r}) is not 30 columns wide: {widths}"
    assert i18n.display_width("平均半径") == 8, "four CJK characters should take 8 columns"
    assert i18n.display_width("：（）") == 6, "full-width punctuation should take 2 columns each"
    assert i18n.pad_text("平均半径", 10, ">") == "  平均半径", f"got {i18n.pad_text('平均半径', 10, '>')!r}"


def test_pad_text_returns_a_text_wider_than_the_width_unpadded() -> None:
    for text in ("过拟合：128-128，60 个点", "a long English label"):
        got = i18n.pad_text(text, 4)
        assert got == text, f"pad_text({text!r}, 4) returned {got!r}, not the text itself"


def test_pad_text_refuses_an_unknown_alignment() -> None:
    with pytest.raises(ValueError, match="align must be"):
        i18n.pad_text("x", 4, "=")


def test_the_templates_read_every_entry_of_the_compiled_catalogs_as_babel_does():
    """i18n reads a catalog's entries from the MO format itself (gettext keeps them private): the
    singular entries of the shipped catalogs, as Babel's reader sees them."""
    import gettext
    from pathlib import Path

    from babel.messages.mofile import read_mo

    from autograder import i18n

    paths = [Path(p) for domain, folder in ((i18n.DOMAIN, i18n.LOCALE_DIR),
                                            (i18n.HIDDEN_DOMAIN, i18n.HIDDEN_LOCALE_DIR))
             for p in gettext.find(domain, folder, languages=["zh_CN"], all=True)]
    assert paths, "the zh_CN catalogs are compiled (make messages)"
    for path in paths:
        with path.open("rb") as handle:
            babel = {m.id: m.string for m in read_mo(handle)
                     if m.id and isinstance(m.id, str) and not m.context}
        assert dict(i18n._mo_entries(path)) == babel
