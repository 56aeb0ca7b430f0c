"""exercise() records and re-raises; show_progress() reports."""

import linecache

import pytest

from autograder import check_close, check_no_mutation, check_raises, progress
from autograder.progress import exercise, progress_table, show_progress


@pytest.fixture(autouse=True)
def clean_registry():
    progress._results.clear()
    yield
    progress._results.clear()


def test_pass_fail_and_not_run_are_recorded():
    with exercise("good"):
        pass
    with pytest.raises(AssertionError, match="wrong value"):
        with exercise("bad"):
            raise AssertionError("wrong value\nmore detail")
    rows = progress_table(["good", "bad", "later"])
    assert rows == [("good", "passed", ""), ("bad", "failed", "AssertionError: wrong value"),
                    ("later", "not checked", "not checked in this kernel: run the cells again to check")]


def test_a_stub_names_its_exercise():
    with pytest.raises(NotImplementedError, match="Exercise 'relu' is not implemented yet"):
        with exercise("relu"):
            raise NotImplementedError()
    assert progress_table(["relu"])[0][1] == "failed"


def test_show_progress_prints_without_ipython(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ipython(name, *args, **kwargs):
        if name.startswith("IPython"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ipython)
    with exercise("a"):
        pass
    show_progress(["a", "b"])
    assert "1/2 exercises pass" in capsys.readouterr().out


def test_after_a_kernel_restart_the_table_says_run_the_cells_again_not_lost_work(monkeypatch):
    """A restarted kernel has recorded nothing: the answers are saved; only the checks must run again."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda item: shown.append(item.data))
    show_progress(["sigmoid", "relu"])
    assert "run the cells again to check" in shown[0]
    assert "saved answers are still in the notebook" in shown[0]
    assert "0 of 2" not in shown[0] and "not run" not in shown[0]
    with exercise("sigmoid"):
        pass
    show_progress(["sigmoid", "relu"])
    assert "1 of 2 exercises pass" in shown[1] and "run the cells again to check" in shown[1]


def run_cell(source: str, filename: str, namespace: dict) -> None:
    """Run ``source`` as IPython runs a cell: under a fresh filename, its lines in linecache."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        exec(compile(source, filename, "exec"), namespace)
    except AssertionError:
        pass


def test_an_exercise_passes_only_when_all_its_test_cells_pass():
    def broken():
        raise AssertionError("overflow at 1e4")

    namespace = {"exercise": exercise, "student_check": broken}
    tests_cell = "with exercise('sigmoid'):\n    student_check()\n"
    torch_cell = "with exercise('sigmoid'):\n    pass\n"
    run_cell(tests_cell, "<cell-1>", namespace)
    run_cell(torch_cell, "<cell-2>", namespace)
    assert progress_table(["sigmoid"]) == [("sigmoid", "failed", "AssertionError: overflow at 1e4")]
    namespace["student_check"] = lambda: None  # the student fixes sigmoid and re-runs the cell
    run_cell(tests_cell, "<cell-3>", namespace)
    assert progress_table(["sigmoid"]) == [("sigmoid", "passed", "")]


# --- What the learner sees in a notebook: IPython's own traceback machinery, no kernel ---------


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """An IPython shell whose tracebacks are collected as the lines a kernel would send."""
    import numpy as np
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))  # nothing written to the home folder
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ipython = InteractiveShell.instance(config=config)
    shown: list[list[str]] = []
    original = ipython._showtraceback
    ipython._showtraceback = lambda etype, evalue, stb: shown.append(list(stb))
    ipython.user_ns.update(np=np, exercise=exercise, check_close=check_close,
                           check_no_mutation=check_no_mutation, check_raises=check_raises)
    ipython.shown = shown
    yield ipython
    ipython._showtraceback = original


def run(shell, source: str) -> tuple[object, str]:
    shell.shown.clear()
    result = shell.run_cell(source, store_history=True)
    return result, "\n".join("\n".join(stb) for stb in shell.shown)


def test_a_failing_check_shows_the_message_and_the_cell_line_only(shell):
    run(shell, "def sigmoid(z):\n    return 0.7 + 0 * z\n")
    result, shown = run(shell, "with exercise('sigmoid'):\n"
                               "    z = np.array([0.0])\n"
                               "    check_close(sigmoid(z), np.array([0.5]), name='sigmoid(0)')\n")
    assert not result.success and isinstance(result.error_in_exec, AssertionError)  # nbgrader: failed
    lines = shown.splitlines()
    assert lines[0].startswith("❌ sigmoid — sigmoid(0): 1 of 1 entries differ")
    assert lines[1] == "   line 3 of this cell: check_close(sigmoid(z), np.array([0.5]), name='sigmoid(0)')"
    assert len(lines) == 2
    for noise in ("progress.py", "checks.py", "contextlib", "Traceback", "__exit__"):
        assert noise not in shown
    assert progress_table(["sigmoid"])[0][1] == "failed"


def test_an_error_in_the_learners_code_shows_their_frames_but_not_the_package(shell):
    run(shell, "def sigmoid(z):\n    W = np.ones((5, 5))\n    return z @ W\n")
    result, shown = run(shell, "with exercise('sigmoid'):\n"
                               "    check_no_mutation(sigmoid, np.zeros((2, 3)))\n")
    assert isinstance(result.error_in_exec, ValueError)
    lines = shown.splitlines()
    assert lines[0].startswith("❌ sigmoid — ValueError: matmul")
    assert lines[1] == "   line 2 of this cell: check_no_mutation(sigmoid, np.zeros((2, 3)))"
    assert lines[2] == "   in sigmoid, line 3 of the cell that defines it: return z @ W"
    assert "checks.py" not in shown and "progress.py" not in shown and "contextlib" not in shown


def test_a_stub_shows_one_line_naming_the_exercise(shell):
    run(shell, "def relu(z):\n    raise NotImplementedError()\n")
    result, shown = run(shell, "with exercise('relu'):\n    relu(np.zeros(2))\n")
    assert isinstance(result.error_in_exec, NotImplementedError)
    assert shown.startswith("❌ relu — Exercise 'relu' is not implemented yet: replace the")
    assert len(shown.splitlines()) == 1


def test_a_failing_hidden_test_line_is_not_shown(shell):
    run(shell, "def relu(z):\n    return z\n")
    result, shown = run(shell, "with exercise('relu'):\n"
                               "    check_close(relu(np.array([1.0])), np.array([1.0]))\n"
                               "    ### BEGIN HIDDEN TESTS\n"
                               "    check_close(relu(np.array([-1.0])), np.array([0.0]), name='relu(-1)')\n"
                               "    ### END HIDDEN TESTS\n")
    assert not result.success
    assert "relu(-1): expected" in shown or "relu(-1)" in shown.splitlines()[0]
    assert shown.splitlines()[1] == "   line 4 of this cell: (a hidden test)"
    assert "np.array([-1.0])" not in shown


def test_a_check_outside_exercise_renders_the_same_way(shell):
    _, shown = run(shell, "check_close(1.0, 2.5, name='x')\n")
    assert shown.splitlines() == [
        "❌ x: expected 2.5, got 1 (error 1.5, tolerance 1e-10 + 1e-07*|expected|).",
        "   line 1 of this cell: check_close(1.0, 2.5, name='x')"]


def test_exercise_finds_its_cell_without_counting_frames():
    """The cell is the frame that runs the ``with`` statement, however deep it is."""
    import hashlib

    source = ("def outer():\n    def inner():\n        with exercise('deep'):\n            pass\n"
              "    inner()\n\nouter()\n")
    run_cell(source, "<cell-deep>", {"exercise": exercise})
    assert list(progress._results["deep"]) == [hashlib.sha1(source.encode()).hexdigest()]
    assert "_getframe" not in open(progress.__file__).read()


# --- What the grader reads: the hint code as data ----------------------------------------------


@pytest.fixture
def published(shell, monkeypatch):
    """The display_data outputs of type CHECK_MIMETYPE the shell publishes, as their data."""
    from autograder.hints import CHECK_MIMETYPE

    seen: list[dict] = []

    def publish(data, metadata=None, **kwargs):
        if CHECK_MIMETYPE in data:
            seen.append(data[CHECK_MIMETYPE])
            assert data["text/plain"] == "", "the learner sees nothing of it"

    monkeypatch.setattr(shell.display_pub, "publish", publish)
    return seen


def test_a_failing_check_publishes_its_hint_code_for_the_grader(shell, published):
    run(shell, "def dense(X, W, b):\n    return X.astype(np.float32) @ W.astype(np.float32) + b\n")
    run(shell, "with exercise('dense'):\n"
               "    X, W = np.random.default_rng(0).normal(size=(2, 6, 5))\n"
               "    check_close(dense(X, W[:5], np.zeros(5)), X @ W[:5], name='dense')\n")
    assert published == [{"exercise": "dense", "hint": "float32", "message": published[0]["message"]}]
    assert published[0]["message"].startswith("CheckFailed: dense: ")
    assert "float32" in published[0]["message"]


def test_a_pass_publishes_nothing_and_a_mistake_without_a_shape_publishes_null(shell, published):
    run(shell, "with exercise('fine'):\n    check_close(1.0, 1.0)\n")
    assert published == []
    run(shell, "with exercise('odd'):\n    check_close(np.array([1.0, 5.0]), np.array([1.0, 2.0]))\n")
    assert [p["hint"] for p in published] == [None]


def test_a_stub_publishes_not_implemented(shell, published):
    run(shell, "def relu(z):\n    raise NotImplementedError()\n")
    run(shell, "with exercise('relu'):\n    relu(np.zeros(2))\n")
    assert [(p["exercise"], p["hint"]) for p in published] == [("relu", "not_implemented")]


@pytest.mark.parametrize("body, side", [
    ("return X @ W.T + b", "X @ W.T"),  # a transposed weight, non-square: NumPy's matmul error
    ("return np.dot(X, W.T) + b", "np.dot"),
])
def test_numpys_shape_error_in_a_matrix_product_is_named_a_transposed_weight(shell, published, body, side):
    run(shell, f"def dense_forward(X, W, b):\n    {body}\n")
    result, shown = run(shell, "with exercise('dense_forward'):\n"
                               "    dense_forward(np.ones((4, 2)), np.ones((2, 3)), np.zeros(3))\n")
    assert isinstance(result.error_in_exec, ValueError), f"{side}: the learner's own error, type kept"
    head = shown.splitlines()[0]
    assert head.startswith("❌ dense_forward — ValueError:") and "transposed" in head and "(in, out)" in head
    assert "in dense_forward, line 2 of the cell that defines it" in shown, "their frames are kept"
    assert published[0]["hint"] == "transposed_weight"
    assert progress_table(["dense_forward"])[0][2].startswith("ValueError:")


def test_w_on_the_wrong_side_of_a_neuron_is_named(shell, published):
    run(shell, "def neuron(x, w, b, activation):\n    return activation(w @ x + b)\n")
    _, shown = run(shell, "with exercise('neuron'):\n"
                          "    neuron(np.ones((2, 3)), np.ones(3), 0.5, np.tanh)\n")
    assert "x @ w, not w @ x" in shown.splitlines()[0]
    assert published[0]["hint"] == "transposed_weight"
