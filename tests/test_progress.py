"""exercise() records and re-raises; show_progress() reports."""

import linecache

import pytest

from autograder import progress
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
                    ("later", "not run", "run its test cell")]


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
