"""Labels that are also keys or data are Chinese in the Chinese edition's printed output (issue #23).

An optimizer's name keys its color, a remedy's name keys its model, a schedule's name keys its losses: the
code keeps them English (``N_("He normal")`` marks one for the catalog and returns it unchanged) and shows
``tr(name)``. These are the labels the stored Chinese builds (tests/fixtures/editions/zh/) printed in English
before; each must be printed in the English solution (so this test scans text that could fail it), never in
the Chinese build, where its translation is printed instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder import i18n

ROOT = Path(__file__).resolve().parents[1]

# chapter -> labels a learner reads in the printed lines (the figures' legends show the same tr(name))
LABELS = {
    "04_backprop_in_practice": [
        "SGD (lr 0.9)", "momentum (lr 0.1, 0.9)", "Adagrad (lr 1)", "RMSprop (lr 0.1)", "Adam (lr 0.3)",
        "Xavier uniform", "Xavier uniform + batch norm", "He normal", "zeros", "constant 0.05",
        "no clipping", "clipped to norm 1",
    ],
    "05_training_and_tuning": [
        "mean radius", "mean area", "mean fractal dimension", "worst area", "labels:",
        "constant 1e-2", "step decay", "warm-up + cosine", "lowest validation loss",
        "over-fitting: 128-128, 60 points", "L2, lambda = 0.01", "dropout, p = 0.5", "early stopping (epoch",
        "more data: 1060 points", "smaller model: 16-8", "too small: 2-2 (under-fits)",
        "training loss", "validation loss", "validation acc",
    ],
    "06_whats_next": [
        "your NumPy Sequential", "MFLOP per step", "from scratch", "frozen body", "fine-tuned body",
        "raw pixels", "random encoder", "denoising autoencoder",
    ],
}

# Parts of a longer message (its placeholders filled in), not messages of their own.
FRAGMENTS = {"lowest validation loss", "early stopping (epoch", "MFLOP per step"}


def _printed(path: Path) -> str:
    """Every printed line and text result of the notebook's stored outputs (not its HTML tables of
    exercise names, which are code identifiers)."""
    texts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append("".join(output.get("text", "")))
            plain = output.get("data", {}).get("text/plain")
            if plain is not None:
                texts.append("".join(plain) if isinstance(plain, list) else plain)
    return "\n".join(texts)


@pytest.mark.parametrize("chapter", sorted(LABELS))
def test_a_label_that_is_a_key_is_printed_in_chinese_in_the_chinese_build(chapter):
    english = _printed(ROOT / "solutions" / chapter / f"{chapter}.ipynb")
    build = ROOT / "tests" / "fixtures" / "editions" / "zh" / chapter / f"{chapter}.ipynb"
    chinese = _printed(build)
    not_printed = [label for label in LABELS[chapter] if label not in english]
    assert not not_printed, (f"{chapter}: the English solution's stored outputs no longer print "
                             f"{not_printed}: update LABELS in this test to what the chapter prints now")
    left_english = [label for label in LABELS[chapter] if label in chinese]
    assert not left_english, (
        f"{build.relative_to(ROOT)} prints {left_english} in English. Mark the label where it is defined "
        "with N_(\"...\"), show it with tr(label), translate it in "
        "autograder/locale/zh_CN/LC_MESSAGES/backprop_lab.po (`make messages`), then rebuild the build: "
        f"python -m autograder.instructor.authoring.executed_editions execute {chapter}")
    with i18n.language("zh_CN"):
        shown = {label: i18n.tr(label) for label in LABELS[chapter]}
    missing = [f"{label!r} -> {translation!r}" for label, translation in shown.items()
               if translation != label and translation not in chinese]
    assert not missing, f"{build.relative_to(ROOT)} does not print the translations {missing}"


def test_every_label_that_is_a_whole_message_has_a_chinese_translation():
    with i18n.language("zh_CN"):
        untranslated = [label for labels in LABELS.values() for label in labels
                        if label not in FRAGMENTS and i18n.tr(label) == label]
    assert not untranslated, (f"no Chinese translation for {untranslated} in backprop_lab.po: run "
                              "`make messages` and translate them")


ZH_BUILDS = ROOT / "tests" / "fixtures" / "editions" / "zh"


@pytest.mark.parametrize("chapter", sorted(p.name for p in ZH_BUILDS.iterdir()))
def test_no_stored_chinese_build_draws_a_box(chapter):
    """matplotlib says where it drew a box instead of a character: "Glyph ... missing from font(s)"
    (a warning), "Font 'default' does not have a glyph for '参'" (mathtext, logged to stderr)."""
    nb = json.loads((ZH_BUILDS / chapter / f"{chapter}.ipynb").read_text())
    said = [("".join(c.get("source", "")).split("\n")[0], json.dumps(o)[:200]) for c in nb["cells"]
            for o in c.get("outputs", [])
            if "does not have a glyph" in json.dumps(o) or "missing from font" in json.dumps(o)]
    assert not said, f"{chapter}: boxes drawn in {said[:3]}"
