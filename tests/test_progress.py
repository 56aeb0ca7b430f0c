"""exercise() records and re-raises; show_progress() reports."""

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
