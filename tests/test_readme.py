"""What the README promises that no other test proves (docs/TESTING.md lists the rest).

- every `make` command README.md, README.zh-CN.md, docs/ and deploy/README.md show is a target that
  uses each `VAR=value` it is shown with, and builds its environment first in a fresh clone;
- `make lab` and `make test` need Python 3.11 or newer, and an older one is refused with the fix;
- the test cell under an exercise is silent when right;
- each chapter checks its code with hidden tests, PyTorch, and numerical gradient checks wherever
  a learner writes a gradient;
- `make check` exits non-zero when a test fails, zero when none does, hidden tests included, and
  never writes to the notebook; the "Check my work" button shows the same verdict.

`make -n` (a dry run) shows what a command would do without installing anything.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.chapters import chapter_ids, chapter_params, nbgrader_meta, read, source_path

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", REPO / "README.zh-CN.md", *sorted((REPO / "docs").glob("*.md")),
         REPO / "deploy" / "README.md"]
# `make TARGET VAR=value ...` in a code span or a code block (after a shell prompt `host$ ` too).
MAKE_COMMAND = re.compile(r'(?:^|(?<=[\s`$(]))make ([a-z][a-z0-9-]*[a-z0-9])'
                          r'((?:[ \t]+[A-Z_]+=(?:"[^"]*"|[^\s`)]+))*)')
# Targets that need no environment: they only read the Makefile or run a script that builds its own.
NO_ENVIRONMENT = {"help", "clean", "test-fresh"}


def code_of(page: Path) -> list[str]:
    """The lines of a page's code blocks and its code spans: where a command is shown to be typed."""
    text = page.read_text()
    fence = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
    lines = [line for block in fence.findall(text) for line in block.splitlines()]
    return lines + re.findall(r"`([^`\n]+)`", fence.sub("", text))


def shown_commands() -> dict[tuple[str, ...], list[str]]:
    """``(target, VAR=value, ...)`` -> the pages that show it."""
    found: dict[tuple[str, ...], list[str]] = {}
    for page in PAGES:
        for code in code_of(page):
            for match in MAKE_COMMAND.finditer(code):
                command = (match[1], *shlex.split(match[2]))
                pages = found.setdefault(command, [])
                if str(page.relative_to(REPO)) not in pages:
                    pages.append(str(page.relative_to(REPO)))
    return found


COMMANDS = shown_commands()


def dry_run(*args: str, venv: Path) -> str:
    """What `make` would run, in a clone whose environment is ``venv`` (one that does not exist yet:
    a fresh clone), and fails with make's own message when it cannot even plan it."""
    run = subprocess.run(["make", "-n", "--no-print-directory", f"VENV={venv}", *args], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"`make {' '.join(args)}` cannot run: {run.stderr[-1000:]}"
    return run.stdout


def test_the_pages_show_the_commands_this_test_reads():
    assert ("lab",) in COMMANDS and ("check", "CHAPTER=01") in COMMANDS, sorted(COMMANDS)
    assert len(COMMANDS) > 30, sorted(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_a_shown_command_uses_what_it_is_shown_with_and_builds_its_environment_first(command, tmp_path):
    target, *assignments = command
    fresh = tmp_path / "fresh-clone-venv"
    plan = dry_run(target, *assignments, venv=fresh)
    where = ", ".join(COMMANDS[command])
    for assignment in assignments:
        without = dry_run(target, *(a for a in assignments if a != assignment), venv=fresh)
        assert plan != without, (f"`make {' '.join(command)}` ({where}) ignores {assignment}: the Makefile's "
                                 f"{target} recipe never reads {assignment.split('=')[0]}")
    if target in NO_ENVIRONMENT:
        assert str(fresh) not in plan, f"make {target} needs no environment, and would build one"
        return
    lines = plan.splitlines()
    creates = next((i for i, line in enumerate(lines) if f"-m venv {fresh}" in line), None)
    installs = [i for i, line in enumerate(lines) if re.search(r"-m pip install .*-e \"\.\[", line)]
    stamp = re.compile(rf"touch {re.escape(str(fresh))}/\.installed-")
    stamps = [i for i, line in enumerate(lines) if stamp.search(line)]
    assert creates is not None and installs and stamps, (
        f"`make {' '.join(command)}` ({where}) as the first command in a fresh clone does not create "
        f"the environment and install the project into it:\n{plan}")
    assert creates < installs[0] < min(stamps), plan


def test_make_lab_opens_chapter_one_and_make_test_runs_ruff_nbval_and_the_tests(tmp_path):
    lab = dry_run("lab", venv=tmp_path / "venv")
    first = re.search(r"--ServerApp.root_dir=chapters --LabApp.default_url=/lab/tree/(\S+)", lab)
    assert first and first[1].startswith("01_") and (REPO / "chapters" / first[1]).is_file(), lab
    test = dry_run("test", venv=tmp_path / "venv")
    assert re.search(r"^ruff check \.$", test, re.M), test
    assert re.search(r"--nbval .* solutions tests/fixtures/editions$", test, re.M), test
    assert re.search(r"-m pytest .* tests$", test, re.M), test


def test_every_link_of_both_readmes_exists():
    for readme in ("README.md", "README.zh-CN.md"):
        for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", (REPO / readme).read_text()):
            assert (REPO / link).exists(), f"{readme} links to {link}, which does not exist"


def test_each_chapter_follows_its_section_of_the_article_in_three_subsections():
    """The READMEs: six sections of three subsections, one chapter per section (§N.1–N.3)."""
    tables = {readme: (REPO / readme).read_text() for readme in ("README.md", "README.zh-CN.md")}
    for number, chapter in enumerate(chapter_ids(), start=1):
        headings = [line for cell in read(source_path(chapter)).cells if cell.cell_type == "markdown"
                    for line in cell.source.splitlines() if line.startswith("## §")]
        assert [h.split()[1] for h in headings] == [f"§{number}.{k}" for k in (1, 2, 3)], (chapter, headings)
        for readme, text in tables.items():
            assert f"| §{number}.1–{number}.3 |" in text, f"{readme}: chapter {number}'s row names its source"


def test_the_course_corrects_the_articles_claim_about_tanh_as_the_chinese_readme_says():
    assert "tanh 适合多分类问题" in (REPO / "README.zh-CN.md").read_text()
    text = "\n".join(c.source for c in read(source_path(chapter_ids()[0])).cells if c.cell_type == "markdown")
    assert re.search(r"tanh\W+suits multi-class problems\. That is not right", text), (
        "chapter 1 no longer corrects the article's tanh claim: change README.zh-CN.md's 致谢")


def test_an_older_python_is_refused_with_the_fix(tmp_path):
    """The README: both commands need Python 3.11 or newer, `make lab PYTHON=/path/to/python3.11`."""
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11", f"pyproject.toml requires {requires}: change the READMEs' 3.11"
    assert "Python 3.11 or newer" in (REPO / "README.md").read_text()
    assert "Python 3.11 或更高版本" in (REPO / "README.zh-CN.md").read_text()
    old = tmp_path / "python3.10"  # this Python, saying it is 3.10: the Makefile asks it with -c
    old.write_text(f'#!/bin/sh\n[ "$1" = -c ] || exit 99\nexec {shlex.quote(sys.executable)} -c '
                   '"import sys; sys.version_info = (3, 10, 12, \'final\', 0); exec(sys.argv[1])" "$2"\n')
    old.chmod(0o755)
    venv = tmp_path / "venv"
    for target in ("lab", "test"):
        run = subprocess.run(["make", "--no-print-directory", f"VENV={venv}", f"PYTHON={old}", target],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
        assert run.returncode != 0 and not venv.exists(), run.stdout + run.stderr
        assert "needs Python 3.11 or newer: set PYTHON=/path/to/python3.11" in run.stderr, run.stderr


# The one line a test cell prints when right: the first PyTorch comparison of a chapter names the
# device it ran on (autograder/torch_ref.py), in the notebook's language.
DEVICE_LINE = re.compile(r"^(PyTorch reference: |PyTorch 参考：).*\n$")


@pytest.mark.parametrize("chapter", chapter_params())
def test_a_test_cell_is_silent_when_right_but_for_the_device_pytorch_ran_on(chapter):
    """The solutions' stored outputs, which nbval proves a re-run gives again (`make nbval`)."""
    translated = sorted((REPO / "tests" / "fixtures" / "editions").glob(f"*/{chapter}/*.ipynb"))
    for path in [source_path(chapter), *translated]:
        loud, device_lines = [], 0
        for cell in read(path).cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and DEVICE_LINE.match(output.get("text", "")):
                    device_lines += 1
                else:
                    text = str(output.get("text", ""))[:200]
                    loud.append((meta["grade_id"], output.get("output_type"), text))
        name = path.relative_to(REPO)
        assert not loud, f"{name}: test cells print when the answer is right: {loud}"
        assert device_lines <= 1, f"{name}: the PyTorch device is named {device_lines} times"


# A learner writes a gradient where a solution cell defines or assigns one of these.
# (`def relu_grad`, `grads["W"] =`, `dW =`, `dz1 +=`)
GRADIENT_NAME = re.compile(r"\b(def \w*(grad|backward)\w*"
                           r"|\w*grads?\w*\s*\[[^\]]*\]\s*[+-]?="
                           r"|d(?:[A-Z]\w*|[a-z]\d*)\s*[+-]?=)")


@pytest.mark.parametrize("chapter", chapter_params())
def test_each_chapter_checks_its_code_the_ways_the_readme_says(chapter):
    nb = read(source_path(chapter))
    tests = [c.source for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")
             and not nbgrader_meta(c).get("solution")]
    solutions = "\n".join(c.source for c in nb.cells
                          if c.cell_type == "code" and nbgrader_meta(c).get("solution"))
    assert any("### BEGIN HIDDEN TESTS" in t for t in tests), f"{chapter}: no hidden tests"
    assert any(re.search(r"\btorch", t) for t in tests), f"{chapter}: no test compares with PyTorch"
    if GRADIENT_NAME.search(solutions):
        assert any("grad_check(" in t for t in tests), (
            f"{chapter}: learners write gradients ({GRADIENT_NAME.search(solutions)[0]!r}) and no test "
            "checks one against central differences (grad_check)")


# -- `make check` and the "Check my work" button, on the tiny demo chapter (seconds, not a chapter) --------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``(course, a notebook whose square passes its visible test and fails its hidden one,
    the solution)``."""
    from tests.instructor.demo_course import make_demo_course, submit, with_cell

    base = tmp_path_factory.mktemp("demo")
    course, solution, untouched = make_demo_course(base)
    answer = "def square(x):\n    return x * abs(x)  # right for [2], wrong for negatives\n"
    hidden_fails = submit(base / "mine", "me", with_cell(solution, "square", answer))
    return course, hidden_fails, submit(base / "right", "me", solution)


def make_check(notebook: Path, course_root: Path) -> subprocess.CompletedProcess:
    """`make check CHAPTER=<notebook>` as typed, its environment taken as built (-o env: no install)."""
    env = {**os.environ, "BACKPROP_LAB_COURSE": str(course_root)}
    venv = Path(sys.executable).parents[1]
    return subprocess.run(["make", "--no-print-directory", "-o", "env", f"VENV={venv}", "check",
                           f"CHAPTER={notebook}"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
@pytest.mark.xdist_group("readme_demo")
def test_make_check_fails_on_a_hidden_test_and_never_writes_the_notebook(demo):
    course, hidden_fails, right = demo
    before = hashlib.sha256(hidden_fails.read_bytes()).hexdigest()
    run = make_check(hidden_fails, course.root)
    assert run.returncode != 0, f"make check exited 0 with a failing test:\n{run.stdout}"
    assert re.search(r"failed\s+square\s+0/2", run.stdout) and "square of a negative number" in run.stdout, (
        f"the hidden test's verdict is not in make check's output:\n{run.stdout}")
    assert re.search(r"passed\s+cube\s+1/1", run.stdout), run.stdout
    assert "model answer: Because squaring forgets the sign." in run.stdout, "the model answers are shown"
    assert hashlib.sha256(hidden_fails.read_bytes()).hexdigest() == before, "make check wrote to the notebook"
    passing = make_check(right, course.root)
    assert passing.returncode == 0, (
        f"make check failed with every test passing:\n{passing.stdout}{passing.stderr}")


@pytest.mark.slow
@pytest.mark.xdist_group("readme_demo")
def test_the_check_my_work_button_shows_make_checks_verdict(demo, monkeypatch, capsys):
    import IPython.display

    from autograder.selfcheck import check_my_work

    course, hidden_fails, _ = demo
    shown: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **_: shown.extend(objects))
    monkeypatch.setenv("BACKPROP_LAB_COURSE", str(course.root))
    monkeypatch.delenv("BACKPROP_LAB_GRADING", raising=False)
    monkeypatch.chdir(hidden_fails.parent)  # a notebook's kernel runs in the notebook's folder
    check_my_work()
    button, _output = shown[0].children
    assert button.description == "Check my work"
    button.click()
    out = capsys.readouterr().out
    assert "Self-check of 00_demo: 1 / 3" in out and "square of a negative number" in out, out
    answers = [o.data for o in shown[1:] if isinstance(o, IPython.display.Markdown)]
    assert any("Because squaring forgets the sign." in a for a in answers), answers
