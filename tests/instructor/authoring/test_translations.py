"""Translated editions from one source of truth (authoring/translations.py, authoring/messages.py).

The English notebooks in solutions/ are the source; translations live in
translations/<locale>/<chapter>.po keyed by cell id and the English text's hash. These tests prove
that a translated chapter is complete and current, that a change in the English shows up as a
stale translation (never silent drift), and that the translated notebook grades like the English
one: test and locked cells byte-identical, grade ids identical, no model answer leaked.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from autograder.instructor.authoring.messages import notebook_messages
from autograder.instructor.authoring.preprocessors import strip_volatile_metadata
from autograder.instructor.authoring.release import MANIFEST, release, stale_files
from autograder.instructor.authoring.translations import (
    FUZZY,
    catalog_path,
    check_catalog,
    english_runs,
    main,
    new_catalog,
    read_catalog,
    update_catalog,
    write_editions,
    write_translated,
)
from autograder.instructor.cells import grade_id, is_answer, is_test, nbgrader_meta
from autograder.instructor.course import Course, chapter_ids
from autograder.instructor.grading import selfcheck

REPO = Path(__file__).resolve().parents[3]
SOLUTIONS = REPO / "solutions"
CHAPTERS = REPO / "chapters"
TRANSLATIONS = REPO / "translations"
LOCALES = sorted(p.name for p in TRANSLATIONS.iterdir() if p.is_dir()) if TRANSLATIONS.is_dir() else []
PILOT = "01_neural_network_basics"
CASES = [(locale, chapter) for locale in LOCALES for chapter in chapter_ids(SOLUTIONS)]


def _source(chapter: str, folder: Path = SOLUTIONS) -> nbformat.NotebookNode:
    return nbformat.read(folder / chapter / f"{chapter}.ipynb", as_version=4)


def _catalog(locale: str, chapter: str):
    path = catalog_path(TRANSLATIONS, locale, chapter)
    if not path.is_file():
        pytest.skip(f"no catalog {path.relative_to(REPO)} yet: the {locale} edition of {chapter} is not "
                    f"started (`python -m autograder.instructor.authoring.translations extract {locale} "
                    f"{chapter}` starts it)")
    return read_catalog(path, locale)


def _pilot_catalog():
    path = catalog_path(TRANSLATIONS, "zh_CN", PILOT)
    if not path.is_file():
        pytest.skip(f"{path.relative_to(REPO)} is the pilot catalog these tests use; it is missing")
    return read_catalog(path, "zh_CN")


# -- the committed catalogs: complete, current, no English left --------------------------------------

@pytest.mark.parametrize("locale,chapter", CASES)
def test_every_text_of_a_translated_chapter_has_a_current_translation(locale, chapter):
    report = check_catalog(_source(chapter), _catalog(locale, chapter), chapter)
    assert not (report.missing or report.stale), (
        f"translations/{locale}/{chapter}.po is not current: {report.line()}.\nStale means the English "
        f"cell changed since it was translated. Run `python -m autograder.instructor.authoring."
        f"translations extract {locale} {chapter}`, then translate or review the fuzzy entries (Poedit "
        f"shows the previous English beside the new one) and clear their fuzzy flag.")


@pytest.mark.parametrize("locale,chapter", CASES)
def test_no_english_sentence_is_left_in_a_translated_markdown_cell(locale, chapter):
    if not locale.startswith("zh"):
        pytest.skip("the heuristic (runs of English words) suits a language not written in Latin letters")
    translated = write_translated(_source(chapter), _catalog(locale, chapter))
    left = {cell.id: runs for cell in translated.cells if cell.cell_type == "markdown"
            and (runs := english_runs(cell.source))}
    assert not left, (f"English prose (6+ words outside code, maths and links) left in the {locale} "
                      f"edition of {chapter}, by cell id: {left}. Translate it in "
                      f"translations/{locale}/{chapter}.po.")


@pytest.mark.parametrize("locale,chapter", CASES)
@pytest.mark.parametrize("folder", [SOLUTIONS, CHAPTERS], ids=["solutions", "student"])
def test_test_and_locked_cells_are_byte_identical_and_grade_ids_the_same(locale, chapter, folder):
    english = _source(chapter, folder)
    translated = write_translated(english, _catalog(locale, chapter))
    assert [c.get("id") for c in translated.cells] == [c.get("id") for c in english.cells]
    assert [grade_id(c) for c in translated.cells] == [grade_id(c) for c in english.cells], (
        "grade ids differ between the editions: grading would not match them")
    for before, after in zip(english.cells, translated.cells):
        if is_test(before) or nbgrader_meta(before).get("locked"):
            assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True), (
                f"{chapter} cell {before.get('id')} is a test or locked cell, yet the {locale} edition "
                "changed it: only markdown and exercise docstrings/comments may be translated")
        else:
            assert after.metadata == before.metadata and after.get("outputs") == before.get("outputs")
    assert translated.metadata["language"] == locale


@pytest.mark.parametrize("locale,chapter", CASES)
def test_translated_exercise_cells_run_the_same_code(locale, chapter):
    english = _source(chapter)
    translated = write_translated(english, _catalog(locale, chapter))
    for before, after in zip(english.cells, translated.cells):
        if before.cell_type == "code":
            assert _code_without_docstrings(after.source) == _code_without_docstrings(before.source), (
                f"{chapter} cell {before.id}: the {locale} edition changed code, not only text")


def _code_without_docstrings(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body and \
                isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            node.body[0].value.value = ""
    return ast.dump(tree)


def test_a_model_answer_never_reaches_the_student_edition():
    catalog = _pilot_catalog()
    student = _source(PILOT, CHAPTERS)
    translated = write_translated(student, catalog)
    answers = [(before, after) for before, after in zip(student.cells, translated.cells) if is_answer(before)]
    assert answers, "the pilot chapter has written questions; this test needs one"
    for before, after in answers:
        assert after.source == before.source, (
            f"written-answer cell {before.id} of the student edition now holds {after.source[:60]!r}: "
            "the translated model answer must not replace nbgrader's placeholder")


# -- stale, never silent drift ---------------------------------------------------------------------

def test_a_changed_english_cell_makes_its_translation_stale_and_keeps_the_english():
    catalog = _pilot_catalog()
    english = copy.deepcopy(_source(PILOT))
    cell = next(c for c in english.cells if c.cell_type == "markdown")
    cell.source += "\n\nA sentence the translators have not seen yet."
    report = check_catalog(english, catalog, PILOT)
    assert report.stale == [f"{cell.id}/md"] and not report.missing, report.line()
    assert f"stale (English changed, review): {cell.id}/md" in report.line()
    translated = write_translated(english, catalog)
    assert next(c for c in translated.cells if c.id == cell.id).source == cell.source, (
        "a stale translation was used: it would show a learner text that no longer matches the English")
    # extract keeps the old translation for the translator, flagged fuzzy with the previous English.
    updated = update_catalog(english, catalog)
    entry = next(e for e in updated if e.context and e.context.startswith(f"{cell.id}/md@"))
    old = next(e for e in catalog if e.context and e.context.startswith(f"{cell.id}/md@"))
    assert entry.id == cell.source and entry.string == old.string and FUZZY in entry.flags
    assert entry.previous_id == [old.id] or entry.previous_id == (old.id,)
    assert check_catalog(english, updated, PILOT).stale == [f"{cell.id}/md"]


def test_extract_keeps_translations_and_moves_entries_of_removed_cells_to_obsolete():
    catalog = _pilot_catalog()
    english = copy.deepcopy(_source(PILOT))
    assert check_catalog(english, update_catalog(english, catalog), PILOT).stale == []
    removed = next(c for c in english.cells if c.cell_type == "markdown")
    english.cells.remove(removed)
    updated = update_catalog(english, catalog)
    assert any(e.context.startswith(f"{removed.id}/md@") for e in updated.obsolete.values())


def test_status_and_extract_on_a_course(tmp_path, capsys):
    root = tmp_path / "course"
    shutil.copytree(SOLUTIONS / PILOT, root / "solutions" / PILOT)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    assert main(["status", "zh_CN", "--course", str(root)]) == 0
    assert "not started" in capsys.readouterr().out
    assert main(["extract", "zh_CN", PILOT, "--course", str(root)]) == 0
    po = catalog_path(root / "translations", "zh_CN", PILOT)
    assert po.is_file()
    assert main(["status", "zh_CN", "--course", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"{PILOT}: 0/" in out and "missing: cell-000/md" in out
    text = po.read_text(encoding="utf-8")
    assert main(["extract", "zh_CN", "--course", str(root)]) == 0
    assert po.read_text(encoding="utf-8") == text, "a second extract with no change rewrote the catalog"
    assert main(["status", "xx_NOPE!", "--course", str(root)]) == 2


def test_write_editions_writes_each_language_beside_the_release(tmp_path):
    _pilot_catalog()
    released = tmp_path / "fresh"
    shutil.copytree(CHAPTERS / PILOT, released / PILOT)
    written = write_editions(released, TRANSLATIONS)
    assert released / "zh" / PILOT / f"{PILOT}.ipynb" in written
    notebook = nbformat.read(released / "zh" / PILOT / f"{PILOT}.ipynb", as_version=4)
    assert notebook.metadata["language"] == "zh_CN"
    assert notebook.metadata["backprop_lab"]["translated_with"] == f"translations/zh_CN/{PILOT}.po"
    assert write_editions(released, tmp_path / "no-translations") == []
    (tmp_path / "odd" / "notes").mkdir(parents=True)
    with pytest.raises(ValueError, match="not named after a locale"):
        write_editions(released, tmp_path / "odd")
    # Executing the edition (`make execute`) strips volatile metadata, never the language.
    assert strip_volatile_metadata(notebook).metadata["language"] == "zh_CN"


def test_the_english_heuristic_ignores_code_maths_and_links():
    assert english_runs("这是 `a long piece of inline code here` 和 $a + b + c + d + e + f$。") == []
    assert english_runs("见 [the docs of the project here](https://example.org/a/b/c/d)。") == []
    assert english_runs("《动手学深度学习》（*Dive into Deep Learning*，Zhang、Lipton）") == []
    assert english_runs("这里 this sentence was left in English by mistake。") == [
        "this sentence was left in English by mistake"]


def test_a_new_catalog_is_empty_and_in_its_language():
    catalog = new_catalog("zh_CN")
    assert len(catalog) == 0
    english = new_notebook(cells=[new_markdown_cell("Hello there.", id="c1")])
    assert check_catalog(english, catalog, "x").missing == ["c1/md"]
    assert write_translated(english, catalog).metadata["language"] == "zh_CN"
    assert notebook_messages(english)[0].context.startswith("c1/md@")


# -- make release --editions: through the real release (nbgrader generate_assignment) ----------------

@pytest.mark.slow
def test_release_with_editions_writes_the_chinese_edition_that_grades_like_the_english(tmp_path):
    _pilot_catalog()
    root = tmp_path / "course"
    shutil.copytree(SOLUTIONS / PILOT, root / "solutions" / PILOT)
    shutil.copy(catalog_path(TRANSLATIONS, "zh_CN", PILOT), _parent(catalog_path(root / "translations",
                                                                                "zh_CN", PILOT)))
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    course = Course(root)
    assert release(course, out=lambda *_: None, editions=True) == 0
    english = _source(PILOT, course.chapters)
    chinese = _source(PILOT, course.chapters / "zh")
    assert chinese.metadata["language"] == "zh_CN"
    assert [grade_id(c) for c in chinese.cells] == [grade_id(c) for c in english.cells]
    for before, after in zip(english.cells, chinese.cells):
        if is_test(before) or nbgrader_meta(before).get("locked"):
            assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True), before.id
    assert sum(a.source != b.source for a, b in zip(english.cells, chinese.cells)) > 30
    assert f"zh/{PILOT}/{PILOT}.ipynb" in json.loads((course.chapters / MANIFEST).read_text())["files"]
    assert stale_files(course, editions=True) == []


def _parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_a_cell_renamed_with_the_same_english_keeps_its_translation_after_extract():
    catalog = _pilot_catalog()
    english = copy.deepcopy(_source(PILOT))
    cell = next(c for c in english.cells if c.cell_type == "markdown")
    cell.id = "a-new-id"  # what inserting a cell above does to positional ids (cell-NNN)
    assert check_catalog(english, catalog, PILOT).missing == ["a-new-id/md"]
    updated = update_catalog(english, catalog)
    assert check_catalog(english, updated, PILOT).missing == []
    assert write_translated(english, updated).cells[0].source != cell.source


@pytest.mark.slow
def test_the_same_answers_get_the_same_score_in_both_editions_through_the_grader(tmp_path, capsys):
    """`make check`'s worker (the grader's own path, hidden tests included) on one wrong answer."""
    catalog = _pilot_catalog()
    english = _source(PILOT)
    cell = next(c for c in english.cells if grade_id(c) == "relu_grad")
    cell.source = cell.source.replace("np.where(z > 0, 1.0, 0.0)", "np.where(z >= 0, 1.0, 0.0)")
    verdicts = {}
    for edition, nb in [("en", english), ("zh", write_translated(english, catalog))]:
        path = _parent(tmp_path / edition / PILOT / f"{PILOT}.ipynb")
        nbformat.write(nb, path)
        code = selfcheck.main([str(path), "--course", str(REPO), "--no-model-answers"])
        out = capsys.readouterr().out
        # The report is in the notebook's language (autograder/i18n.py): its words differ, not its numbers.
        rows = re.findall(r"^\s+(passed|failed|通过|未通过)\s+(\S+)\s+(\d+/\d+)", out, re.M)
        score = next(line for line in out.splitlines() if "Self-check of" in line or "的自查" in line)
        verdicts[edition] = (code, re.findall(r"(\d+) / (\d+)", score),
                             [({"通过": "passed", "未通过": "failed"}.get(s, s), n, p) for s, n, p in rows])
        failing = [line for line in out.splitlines() if "relu_grad__" in line]
        verdicts[edition + " message"] = "\n".join(failing)
    messages = verdicts.pop("en message"), verdicts.pop("zh message")
    assert verdicts["zh"] == verdicts["en"], verdicts
    assert "expected" in messages[0] and "应为" in messages[1], messages  # the kernel's checks, in Chinese
    # The checks' names too: a visible test's, and a hidden test's from the grader's own catalog.
    for english in ("the derivative at exactly 0 is 0.0", "against torch.autograd, at 0 and ±1e4 too"):
        assert english in messages[0] and english not in messages[1], (english, messages)
    assert ("failed", "relu_grad", "0/2") in verdicts["en"][2] and verdicts["en"][0] == 1


def test_a_stale_entrys_previous_english_survives_a_round_trip(tmp_path):
    """Babel reads ``#|`` lines as comments and wraps a long previous msgid inside its quotes, so
    an extract after an extract lost it; the catalog keeps it in GNU gettext's form (Poedit's diff)."""
    from autograder.instructor.authoring.translations import catalog_text, new_catalog, read_catalog

    catalog = new_catalog("zh_CN")
    old = 'the old "English"\nover two lines, ' + "long " * 30
    catalog.add("the new English\nover two lines", "译文", flags={"fuzzy"}, previous_id=(old,),
                context="cell-1/md@abc")
    text = catalog_text(catalog)
    assert '#| msgid ""\n#| "the old \\"English\\"\\n"\n' in text, text
    path = tmp_path / "01.po"
    path.write_text(text, encoding="utf-8")
    again = read_catalog(path, "zh_CN")
    entry = next(e for e in again if e.id)
    assert entry.previous_id == (old,) and entry.fuzzy and entry.user_comments == []
    assert catalog_text(again) == text
