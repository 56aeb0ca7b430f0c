"""Chapter 6's test cells catch the classic mistakes (issue 12): each is planted in the solution,
and the exercise's test cells must fail; the untouched solution must pass them.

The notebook's setup cell, its solution cells and the given ``Sequential`` class run in one
namespace (as ``__main__``, so ``check_own_code`` accepts them); a mistake replaces one exercise
by a variant built on the solution, and then that exercise's test cells run.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.chapters import nbgrader_meta, read, source_path

CHAPTER = "06_whats_next"
pytestmark = [pytest.mark.chapter(6), pytest.mark.slow]  # runs the test cells, about 15 s

# The solution's in-place restore, and the rebinding a learner may write instead.
IN_PLACE = """            for name, value in model.trainable_params().items():
                value[...] = best[name]"""
REBIND = """            for name, value in best.items():
                index, key = name.split(".")
                model.layers[int(index)].params[key] = value.copy()"""

# mistake -> (exercise, the mistaken code run after the solution; REBIND edits the solution's fit)
MISTAKES = {
    "Dense accumulates into grads across calls": ("Dense", """
        class Dense(Dense):
            def backward(self, dout, through_activation=True):
                previous = self.grads
                dx = super().backward(dout, through_activation)
                if previous is not None:
                    self.grads = {name: previous[name] + self.grads[name] for name in self.grads}
                return dx
    """),
    "cross-entropy from the softmax probabilities (-log p)": ("compute_loss", """
        solution_compute_loss = compute_loss
        def compute_loss(model, out, y):
            if model.loss == "mse":
                return solution_compute_loss(model, out, y)
            n = len(y)
            loss = float(-np.mean(np.log(out[np.arange(n), y])))
            grad = out.copy()
            grad[np.arange(n), y] -= 1.0
            return loss, grad / n, True
    """),
    "mse gradient scaled by 1/N instead of 1/(N * units)": ("compute_loss", """
        solution_compute_loss = compute_loss
        def compute_loss(model, out, y):
            if model.loss == "mse":
                return float(np.mean((out - y) ** 2)), 2 * (out - y) / len(out), False
            return solution_compute_loss(model, out, y)
    """),
    "early stopping restores by rebinding layer.params[k]": ("fit", REBIND),
    "fine_tune_step uses the head's learning rate for the body": ("fine_tune_step", """
        solution_fine_tune_step = fine_tune_step
        def fine_tune_step(model, x, y, lr_head, lr_body):
            return solution_fine_tune_step(model, x, y, lr_head, lr_head)
    """),
    "fine_tune_step rebinds the parameters instead of updating them in place": ("fine_tune_step", """
        def fine_tune_step(model, x, y, lr_head, lr_body):
            model.predict(x)
            loss, grad = softmax_cross_entropy(model.layers[-1].logits, y)
            for index, layer in enumerate(reversed(model.layers)):
                grad = layer.backward(grad, through_activation=index > 0)
            grads, head = {}, len(model.layers) - 1
            for number, layer in enumerate(model.layers):
                lr = lr_head if number == head else lr_body
                for name in list(layer.params):
                    grads[f"{number}.{name}"] = layer.grads[name].copy()
                    layer.params[name] = layer.params[name] - lr * layer.grads[name]
            return float(loss), grads
    """),
    "make_windows returns y as a view of the series": ("make_windows", """
        def make_windows(series, window):
            series = np.asarray(series, dtype=np.float64)
            if not 1 <= window < len(series):
                raise ValueError("window out of range")
            X = np.lib.stride_tricks.sliding_window_view(series, window)[:-1].copy()
            return X, series[window:, None]
    """),
    "forecast_loss's gradient without the factor 2 of the square": ("forecast_loss", """
        solution_forecast_loss = forecast_loss
        def forecast_loss(params, X, y):
            loss, grads = solution_forecast_loss(params, X, y)
            return loss, {name: grad / 2 for name, grad in grads.items()}
    """),
    "forecast_loss's gradient with the sign flipped (it cannot train)": ("forecast_loss", """
        solution_forecast_loss = forecast_loss
        def forecast_loss(params, X, y):
            loss, grads = solution_forecast_loss(params, X, y)
            return loss, {name: -grad for name, grad in grads.items()}
    """),
    "History.epoch left empty": ("fit", """
        solution_fit = fit
        def fit(model, x, y, epochs=1, batch_size=32, validation_data=None, callbacks=None, verbose=1):
            history = solution_fit(model, x, y, epochs, batch_size, validation_data, callbacks, verbose)
            history.epoch = []
            return history
    """),
}


@pytest.fixture(scope="module")
def cells() -> dict[str, str]:
    return {nbgrader_meta(c).get("grade_id"): c.source for c in read(source_path(CHAPTER)).cells
            if nbgrader_meta(c).get("grade_id")}


def solution_namespace(cells: dict[str, str]) -> dict:
    namespace = {"__name__": "__main__"}
    notebook = read(source_path(CHAPTER))
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and (meta.get("grade_id") in ("setup", "Sequential_class", "test_models")
                                         or (meta.get("solution") and not meta.get("grade"))):
            exec(compile(cell.source, meta["grade_id"], "exec"), namespace)  # noqa: S102
    return namespace


def run_tests_of(exercise: str, cells: dict[str, str], namespace: dict) -> None:
    for test_id, source in cells.items():
        if test_id.split("__")[0] == exercise and "__" in test_id and not test_id.endswith("__digits"):
            exec(compile(source, test_id, "exec"), namespace)  # noqa: S102


@pytest.mark.parametrize("exercise", sorted({exercise for exercise, _ in MISTAKES.values()}))
def test_the_solution_passes_the_tests_the_mistakes_fail(exercise, cells):
    run_tests_of(exercise, cells, solution_namespace(cells))


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_classic_mistake_fails_its_exercise(mistake, cells):
    exercise, code = MISTAKES[mistake]
    namespace = solution_namespace(cells)
    if code is REBIND:
        assert IN_PLACE in cells["fit"], "the solution's restore changed; update IN_PLACE"
        code = cells["fit"].replace(IN_PLACE, REBIND)
    exec(compile(textwrap.dedent(code), mistake, "exec"), namespace)  # noqa: S102
    with pytest.raises(Exception):  # noqa: B017  (a failed check, or the error it provokes)
        run_tests_of(exercise, cells, namespace)


# An answer that hands the work back to the model the test passed: that model's method of the same
# name is the reference (PyTorch's arithmetic, or the course library's), so the test models refuse it.
DELEGATIONS = {
    "predict": "def predict(model, x):\n    return model.predict(x)\n",
    "compute_loss": "def compute_loss(model, out, y):\n    return model.compute_loss(out, y)\n",
    "train_on_batch": "def train_on_batch(model, x, y):\n    return model.train_on_batch(x, y)\n",
    "evaluate": "def evaluate(model, x, y):\n    return model.evaluate(x, y)\n",
    "fit": "def fit(model, x, y, epochs=1, batch_size=32, validation_data=None, callbacks=None, verbose=1):\n"
           "    return model.fit(x, y, epochs, batch_size, validation_data, callbacks, verbose)\n",
}


@pytest.mark.parametrize("exercise", list(DELEGATIONS))
def test_calling_the_test_models_own_method_is_refused(exercise, cells):
    namespace = solution_namespace(cells)
    exec(compile(DELEGATIONS[exercise], f"{exercise} delegated", "exec"), namespace)  # noqa: S102
    with pytest.raises(Exception, match=f"may not call the model's own {exercise}"):
        run_tests_of(exercise, cells, namespace)
