"""The learner's JupyterLab, in headless Chromium (`make test-browser`).

One server, started with `make lab` (learner mode), serves a temporary copy of
``chapters/`` with a copy of ``solutions/`` inside it, so nothing here writes to the
course's own notebooks. What it proves:

- `make lab` opens chapter 1, with nbgrader's instructor interface switched off;
- every solution notebook runs top to bottom with Run All, and no cell errors;
- in each chapter with a slider, moving it redraws the figure;
- the self-check button (when chapters have one) reports a wrong exercise;
- a Chinese chapter (chapters/zh/) runs, and its checks and "Check my work" answer in Chinese.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.instructor.authoring.site_pages import inject_solutions
from autograder.instructor.course import Course

REPO = Path(__file__).resolve().parents[2]
COURSE = Course(REPO)
TOKEN = "backprop-lab-browser-test"
FIRST_CHAPTER = COURSE.chapter_ids()[0]
SELF_CHECK_BUTTON = "Check my work"
pytestmark = pytest.mark.slow


@dataclass
class Lab:
    url: str
    root: Path
    log: Path
    workspaces: Path

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}{path}?token={TOKEN}", timeout=30) as reply:
                return reply.status
        except urllib.error.HTTPError as error:
            return error.code


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_settings(folder: Path) -> None:
    """Per-test JupyterLab settings: every cell kept in the page (no windowing), and the
    kernel started without asking (else, on a busy machine, Lab may ask which kernel to
    start before it has the list, and widgets of a kernel chosen there never render)."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
            "windowingMode": "none", "autoStartDefaultKernel": True},
    }
    for name, value in settings.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(value))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "RELEASE.json")
    shutil.copytree(COURSE.chapters, root, ignore=skip)
    shutil.copytree(COURSE.solutions, root / "solutions", ignore=skip)
    _write_settings(base / "settings")
    port = _free_port()
    log = base / "lab.log"
    # Not pytest's variables: kernels would take themselves for a test run.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
           "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces")}
    (base / "workspaces").mkdir()
    # window.jupyterapp (expose_app_in_browser) tells when a notebook's kernel is really ready.
    args = (f"--no-browser --port={port} --ServerApp.port_retries=0 --IdentityProvider.token={TOKEN}"
            " --LabApp.expose_app_in_browser=True")
    with log.open("w") as out:
        command = ["make", "--no-print-directory", "lab", f"LAB_ROOT={root}", f"LAB_ARGS={args}"]
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}", root, log, base / "workspaces")
    deadline = time.monotonic() + 300
    while lab_status(lab) != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGTERM)
            pytest.fail(f"make lab did not start a server:\n{log.read_text()[-3000:]}")
        time.sleep(1)
    yield lab
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def lab_status(lab: Lab) -> int:
    try:
        return lab.get("/api/status")
    except OSError:
        return 0


# -- driving JupyterLab ---------------------------------------------------------------------

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front

# Is the notebook in front ready for Run All? Asked of Lab itself (window.jupyterapp), not of its
# toolbar: the kernel indicator reads "idle" from the start, before the document has loaded and
# before any session or kernel exists. A Run All issued then is lost, or makes Lab start a second
# kernel and shut down the first under the running cells (their prompts go blank, lab.log shows a
# KeyboardInterrupt): CI's "every prompt empty" in the Chinese chapter's test.
KERNEL_READY = """(path) => {
  const app = window.jupyterapp, panel = app && app.shell.currentWidget;
  if (!panel || !panel.context || !panel.sessionContext) return 'no notebook in front';
  if (path && panel.context.path !== path) return 'in front: ' + panel.context.path;
  if (!panel.context.isReady) return 'the document is still loading';
  const session = panel.sessionContext, kernel = session.session && session.session.kernel;
  if (!session.isReady || !kernel) return 'no kernel yet';
  if (session.isRestarting || session.isTerminating) return 'the kernel is restarting';
  if (kernel.connectionStatus !== 'connected') return 'kernel ' + kernel.connectionStatus;
  return kernel.status === 'idle' ? 'ready' : 'kernel ' + kernel.status;
}"""
# Each page's first session is created 2 s late, as on a loaded machine (an init script): a Run All
# issued before KERNEL_READY says "ready" is then lost (run_all fails) or starts a second kernel
# (open_and_run_all fails) here, rather than now and then in CI.
SLOW_SESSION = """
const fetchNow = window.fetch;
window.fetch = async function (input, init) {
  const url = typeof input === 'string' ? input : input.url;
  const method = (init && init.method) || (typeof input === 'string' ? 'GET' : input.method);
  const reply = await fetchNow.call(this, input, init);
  if (method === 'POST' && url.includes('/api/sessions') && !window.sessionSlowed) {
    window.sessionSlowed = true;
    await new Promise(resolve => setTimeout(resolve, 2000));
  }
  return reply;
};
"""


def wait_for_kernel(page, path: str | None = None, timeout_s: float = 180) -> None:
    """Wait until the notebook in front (``path``, if given) has loaded and its kernel is connected
    and idle, answering a kernel dialog if one shows."""
    deadline = time.monotonic() + timeout_s
    state = "not asked"
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and page.get_by_role("button", name="Select", exact=True).count():
            page.get_by_role("button", name="Select", exact=True).click()
        state = page.evaluate(KERNEL_READY, path)
        if state == "ready":
            return
        page.wait_for_timeout(500)
    pytest.fail(f"the notebook's kernel never became ready: {state}")


def open_notebook(page, lab: Lab, path: str | None = None) -> None:
    """Open a notebook (or, with no path, the page `make lab` opens) and wait for its kernel."""
    # A fresh workspace, so the notebook of an earlier test is not reopened beside this one.
    # (Lab's `?reset` and `/lab/workspaces/<new>/` both open it, but its widgets never render.)
    for saved in lab.workspaces.glob("*"):
        saved.unlink()
    target = f"/lab/tree/{path}" if path else "/"
    page.add_init_script(SLOW_SESSION)
    page.goto(f"{lab.url}{target}?token={TOKEN}")
    page.wait_for_selector(f"{NOTEBOOK} .jp-Notebook .jp-Cell", timeout=120_000)
    # Every plugin activated and the layout restored: what a test finds absent stays absent.
    page.wait_for_function("() => window.jupyterapp", timeout=120_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    wait_for_kernel(page, path)


def run_all(page) -> None:
    """Run All, and see it start. Not retried: once wait_for_kernel has said "ready", a Run All that
    starts nothing is a race still to find. (A retry hid this one: under SLOW_SESSION the old wait
    let the first click go before there was a kernel, and it was lost or started a second kernel;
    and CI's blank prompts came from a Run All that had started, which no retry catches.)"""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    try:
        page.wait_for_function("(nb) => [...document.querySelectorAll(nb + ' .jp-InputPrompt')]"
                               ".some(p => /\\[(\\d+|\\*)\\]/.test(p.textContent))",
                               arg=NOTEBOOK, timeout=30_000)
    except Exception:
        pytest.fail(f"Run All started no cell in 30 s; Lab says {page.evaluate(KERNEL_READY, None)!r}")


RUN_STATE = """(notebook) => {
  const prompts = [...document.querySelectorAll(notebook + ' .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  return {
    pending: prompts.filter(t => t.includes('*')).length,
    first_pending: prompts.findIndex(t => t.includes('*')),
    prompts: prompts.length,
    executed: prompts.filter(t => /\\[\\d+\\]/.test(t)).length,
    last_done: prompts.length > 0 && /\\[\\d+\\]/.test(prompts[prompts.length - 1]),
    // The kernel's own status: the toolbar's indicator reads "idle" before there is a kernel.
    idle: (() => {
      const panel = window.jupyterapp.shell.currentWidget;
      const session = panel && panel.sessionContext && panel.sessionContext.session;
      return !!(session && session.kernel && session.kernel.status === 'idle');
    })(),
  };
}"""


def wait_until_run(page, timeout_s: float = 300, stalled_s: float = 15, lab: Lab | None = None) -> None:
    """Wait until Run All is over: the last cell ran, or (it stopped at an error) nothing
    is queued and no new cell has run for ``stalled_s`` seconds. ``lab``: its log goes in the failure."""
    deadline = time.monotonic() + timeout_s
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        state = page.evaluate(RUN_STATE, NOTEBOOK)
        if state["executed"] != last_count:
            last_count, last_change = state["executed"], time.monotonic()
        quiet = state["pending"] == 0 and state["idle"]
        stalled = state["executed"] and time.monotonic() - last_change > stalled_s
        if quiet and (state["last_done"] or stalled):
            return
        page.wait_for_timeout(1000)
    page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "backprop-lab-run-all.png"))
    log = f"; the end of lab.log:\n{lab.log.read_text()[-3000:]}" if lab else ""
    pytest.fail(f"Run All did not finish within {timeout_s:.0f} s: {state} (code cells counted from 0); "
                f"page problems: {page.watched.problems[:10]}{log}")


FIRST_ERROR = """(notebook) => {
  const error = document.querySelector(notebook +
      ' .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
  if (!error) return null;
  const box = error.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, height: window.innerHeight, text: error.innerText.slice(0, 200)};
}"""


def run_report(page, lab: Lab) -> str:
    """What a failed Run All left: the prompts, the first error shown, the end of the server's log
    (a kernel that died or restarted says so there)."""
    state = page.evaluate(RUN_STATE, NOTEBOOK)
    error = page.evaluate(FIRST_ERROR, NOTEBOOK)
    return (f"{state} (code cells counted from 0); first error shown: {error and error['text']!r}; "
            f"page problems: {page.watched.problems[:10]}; "
            f"the end of lab.log:\n{lab.log.read_text()[-3000:]}")


def kernels_started(lab: Lab) -> int:
    return lab.log.read_text().count("Kernel started:")


def open_and_run_all(page, lab: Lab, path: str | None = None) -> None:
    """Open a notebook, Run All, wait until it is over. One kernel at most is started for it: a
    second one means Lab replaced the kernel under Run All (see KERNEL_READY)."""
    before = kernels_started(lab)
    open_notebook(page, lab, path)
    run_all(page)
    wait_until_run(page, lab=lab)
    started = kernels_started(lab) - before
    assert started <= 1, (f"{started} kernels started for one notebook: was Run All issued before its "
                          f"kernel was ready? {run_report(page, lab)}")


def save(page, file: Path) -> None:
    """Save the notebook in front (Ctrl+S) and wait until the file on disk changed."""
    before = file.stat().st_mtime_ns
    page.locator(f"{NOTEBOOK} .jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 60
    while file.stat().st_mtime_ns == before:
        if time.monotonic() > deadline:
            pytest.fail(f"saving {file.name} did not write it")
        page.wait_for_timeout(250)
    page.wait_for_timeout(500)  # the write may still be under way


def executed_notebook(page, lab: Lab, path: str) -> nbformat.NotebookNode:
    save(page, lab.root / path)
    return nbformat.read(str(lab.root / path), as_version=4)


def error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for cell in nb.cells if cell.cell_type == "code"
            for o in cell.get("outputs", []) if o.get("output_type") == "error"]


# -- the tests ------------------------------------------------------------------------------

def test_make_lab_opens_chapter_one_in_learner_mode(lab, page):
    open_notebook(page, lab)
    assert page.url.endswith(f"/lab/tree/{FIRST_CHAPTER}/{FIRST_CHAPTER}.ipynb"), page.url
    student = nbformat.read(str(COURSE.chapters / FIRST_CHAPTER / f"{FIRST_CHAPTER}.ipynb"), as_version=4)
    title = student.cells[0].source.splitlines()[0].lstrip("# ").strip()
    # Markdown renders after the cells appear: wait for the chapter's title.
    page.locator(f"{NOTEBOOK} .jp-Notebook h1").filter(has_text=title).first.wait_for(timeout=60_000)
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Run" in menus, menus
    config = json.loads(page.locator("#jupyter-config-data").inner_text())
    disabled = config.get("disabledExtensions", [])
    assert any(name.startswith("@jupyter/nbgrader") for name in disabled), disabled
    for label in ("Formgrader", "Nbgrader", "Create Assignment", "Course List", "Assignment List",
                  "Validate"):
        assert page.get_by_text(label, exact=True).count() == 0, f"learners see nbgrader's {label!r}"
    assert lab.get("/formgrader") == 404, "the formgrader server extension is on"
    assert lab.get("/assignments") == 404, "the assignment-list server extension is on"
    assert page.watched.page_errors == [], page.watched.page_errors





def test_after_run_all_the_first_failure_is_in_view(lab, page):
    """Chapter 1 as a learner first gets it (every exercise a stub): Run All stops at the
    first test cell, and the learner sees its message (Lab alone scrolls to the last cell)."""
    open_and_run_all(page, lab)
    error = page.evaluate(FIRST_ERROR, NOTEBOOK)
    assert error, "Run All on the stubs raised no error"
    assert "NotImplementedError" in error["text"], error["text"]
    assert 0 <= error["top"] < error["height"], (
        f"after Run All the first error is out of view (top {error['top']:.0f} px, window "
        f"{error['height']} px): is config/learner's JupyterLab extension loaded?")


def _move_slider_and_see_the_figure_change(page) -> None:
    slider = page.locator(f"{NOTEBOOK} .jp-OutputArea .widget-slider").first
    try:
        slider.wait_for(timeout=60_000)
    except Exception:
        shown = page.locator(f"{NOTEBOOK} .jp-OutputArea-output").filter(
            has_text=re.compile("interactive|widget|Error")).all_inner_texts()
        page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "backprop-lab-no-slider.png"))
        pytest.fail(f"no slider rendered; the widget outputs show: {[t[:300] for t in shown]}; "
                    f"page problems: {page.watched.problems[:10]}")
    slider.scroll_into_view_if_needed()
    output = slider.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea')][1]")
    figure = output.locator("img").first
    figure.wait_for(timeout=60_000)
    # The figure to compare with is the one drawn once the kernel is idle and the image has held
    # still for a second: one read while the first drawing was still arriving could change by
    # itself, and the test would pass without the slider doing anything.
    wait_for_kernel(page)
    before, held_since = figure.get_attribute("src"), time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() - held_since < 1.0 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        now = figure.get_attribute("src")
        if now != before:
            before, held_since = now, time.monotonic()
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        images = output.locator("img")
        if images.count() and images.first.get_attribute("src") not in (None, before):
            return
        page.wait_for_timeout(500)
    pytest.fail("moving the slider did not redraw the figure")


def _solution_has_slider(chapter: str) -> bool:
    nb = nbformat.read(str(COURSE.solutions / chapter / f"{chapter}.ipynb"), as_version=4)
    return any("Slider(" in cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("chapter", COURSE.chapter_ids())
def test_run_all_on_the_solution_then_move_a_slider(lab, page, chapter):
    # A copy without outputs or prompt numbers: with the stored ones, a Run All that ran nothing
    # would look finished.
    solution = nbformat.read(str(COURSE.solutions / chapter / f"{chapter}.ipynb"), as_version=4)
    for cell in solution.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    path = f"fresh/{chapter}/{chapter}.ipynb"
    (lab.root / path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(solution, str(lab.root / path))
    open_and_run_all(page, lab, path)
    nb = executed_notebook(page, lab, path)
    assert error_outputs(nb) == [], f"{chapter}: cells failed under Run All: {error_outputs(nb)}"
    unexecuted = [i for i, cell in enumerate(nb.cells)
                  if cell.cell_type == "code" and not cell.execution_count]
    assert unexecuted == [], f"{chapter}: Run All stopped before cells {unexecuted}"
    if _solution_has_slider(chapter):
        _move_slider_and_see_the_figure_change(page)
    assert page.watched.page_errors == [], page.watched.page_errors


# Passes every visible test (two and four layer sizes), fails the hidden ones (three sizes).
BUGGY_COUNT = '''def count_parameters(layer_sizes):
    total = 0
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        total += n_in * n_out + n_out
    return total if len(layer_sizes) != 3 else total - 1
'''


def test_self_check_reports_the_wrong_exercise(lab, page):
    """Chapter 1 with every exercise solved except count_parameters, wrong only where the hidden
    tests look: the self-check button says so, with the check's message."""
    student = nbformat.read(str(COURSE.chapters / FIRST_CHAPTER / f"{FIRST_CHAPTER}.ipynb"), as_version=4)
    solution = nbformat.read(str(COURSE.solutions / FIRST_CHAPTER / f"{FIRST_CHAPTER}.ipynb"), as_version=4)
    nb = inject_solutions(student, solution)
    nb.cells = [c for c in nb.cells if "site-prelude" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        cell.metadata.pop("site_stub", None)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "count_parameters":
            cell.source = BUGGY_COUNT
    path = f"wrong/{FIRST_CHAPTER}/{FIRST_CHAPTER}.ipynb"
    (lab.root / path).parent.mkdir(parents=True)
    nbformat.write(nb, str(lab.root / path))
    open_and_run_all(page, lab, path)
    button = page.get_by_role("button", name=SELF_CHECK_BUTTON)
    button.scroll_into_view_if_needed()
    button.click()
    output = button.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea')][1]")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and "failed" not in output.inner_text():
        page.wait_for_timeout(1000)
    report = output.inner_text()
    assert "failed" in report, f"the self-check did not report a failure:\n{report}"
    assert "count_parameters" in report, f"the self-check did not name count_parameters:\n{report}"
    assert "BEGIN HIDDEN TESTS" not in report and "check_own_code" not in report, report


def test_a_chinese_chapter_runs_and_check_my_work_answers_in_chinese(lab, page):
    """The Chinese edition of chapter 1 (chapters/zh/), every exercise solved except count_parameters,
    wrong only where the hidden tests look: its kernel speaks Chinese (the progress table, the button)
    and "Check my work" reports the failure in Chinese (autograder/i18n.py)."""
    student = nbformat.read(str(COURSE.chapters / "zh" / FIRST_CHAPTER / f"{FIRST_CHAPTER}.ipynb"),
                            as_version=4)
    assert student.metadata["language"] == "zh_CN"
    solution = nbformat.read(str(COURSE.solutions / FIRST_CHAPTER / f"{FIRST_CHAPTER}.ipynb"), as_version=4)
    nb = inject_solutions(student, solution)
    nb.cells = [c for c in nb.cells if "site-prelude" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        cell.metadata.pop("site_stub", None)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "count_parameters":
            cell.source = BUGGY_COUNT
    # The chapter up to its first exercise, then its last cells (the progress table, the button): Run All
    # stays short on a busy machine; the self-check grades it whole (the rest unanswered).
    first = next(i for i, c in enumerate(nb.cells) if "count_parameters__torch" in str(c.metadata))
    last = [c for c in nb.cells if "show_progress(" in c.source or "check_my_work(" in c.source]
    nb.cells = nb.cells[:first + 1] + last
    path = f"zh-wrong/{FIRST_CHAPTER}/{FIRST_CHAPTER}.ipynb"
    (lab.root / path).parent.mkdir(parents=True)
    nbformat.write(nb, str(lab.root / path))
    open_and_run_all(page, lab, path)
    progress = page.locator(f"{NOTEBOOK} .jp-OutputArea-output").filter(has_text="个练习中有")
    try:
        progress.first.wait_for(timeout=60_000)
    except Exception:
        pytest.fail(f"the progress table is not in Chinese (or Run All stopped before it): "
                    f"{run_report(page, lab)}")
    button = page.get_by_role("button", name="检查我的作业")
    button.scroll_into_view_if_needed()
    button.click()
    output = button.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea')][1]")
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline and "有测试未通过" not in output.inner_text():
        page.wait_for_timeout(1000)
    report = output.inner_text()
    assert "的自查：测试得分" in report, f"the self-check did not answer in Chinese:\n{report}"
    assert "未通过" in report and "count_parameters" in report, report
    assert "尚未实现" in report or "应为" in report or "练习" in report, report  # the checks' own messages
    assert "有测试未通过：上面的消息指出了问题所在。" in report, report
    assert "Self-check of" not in report and "BEGIN HIDDEN TESTS" not in report, report
