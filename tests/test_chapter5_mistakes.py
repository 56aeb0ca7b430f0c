"""Chapter 5's test cells catch the classic mistakes of its newer exercises: each is planted in the
solution, and the exercise's test cells must fail; the untouched solution must pass them.

The notebook's setup cell and its solution cells run in one namespace (as ``__main__``, so
``check_own_code`` accepts them); a mistake replaces one exercise, then that exercise's test cells run.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.chapters import nbgrader_meta, read, source_path

CHAPTER = "05_training_and_tuning"
pytestmark = [pytest.mark.chapter(5), pytest.mark.slow]  # runs test cells, a few seconds

# mistake -> (exercise, the mistaken code run after the solution)
MISTAKES = {
    "minibatch_gradients draws rows with replacement": ("minibatch_gradients", """
        def minibatch_gradients(X, y, w, batch_size, n_draws, rng):
            if not 1 <= batch_size <= len(X):
                raise ValueError("batch_size out of range")
            out = np.empty((n_draws, X.shape[1]))
            for draw in range(n_draws):
                rows = rng.choice(len(X), size=batch_size, replace=True)
                out[draw] = X[rows].T @ (sigmoid(X[rows] @ w) - y[rows]) / batch_size
            return out
    """),
    "minibatch_gradients sums over the batch instead of averaging": ("minibatch_gradients", """
        solution_minibatch_gradients = minibatch_gradients
        def minibatch_gradients(X, y, w, batch_size, n_draws, rng):
            return batch_size * solution_minibatch_gradients(X, y, w, batch_size, n_draws, rng)
    """),
    "minibatch_gradients draws every batch in one call": ("minibatch_gradients", """
        def minibatch_gradients(X, y, w, batch_size, n_draws, rng):
            if not 1 <= batch_size <= len(X):
                raise ValueError("batch_size out of range")
            rows = np.array([rng.permutation(len(X))[:batch_size] for _ in range(n_draws)])
            return np.array([X[r].T @ (sigmoid(X[r] @ w) - y[r]) / batch_size for r in rows])
    """),
    "minibatch_gradients accepts a batch larger than the data": ("minibatch_gradients", """
        solution_minibatch_gradients = minibatch_gradients
        def minibatch_gradients(X, y, w, batch_size, n_draws, rng):
            return solution_minibatch_gradients(X, y, w, min(batch_size, len(X)), n_draws, rng)
    """),
    "sgd_at_budget takes budget steps, not budget // batch_size": ("sgd_at_budget", """
        solution_sgd_at_budget = sgd_at_budget
        def sgd_at_budget(X, y, w, batch_size, budget, lr, rng):
            return solution_sgd_at_budget(X, y, w, batch_size, budget * batch_size, lr, rng)
    """),
    "sgd_at_budget sums the batch's gradients instead of averaging": ("sgd_at_budget", """
        solution_sgd_at_budget = sgd_at_budget
        def sgd_at_budget(X, y, w, batch_size, budget, lr, rng):
            return solution_sgd_at_budget(X, y, w, batch_size, budget, lr * batch_size, rng)
    """),
    "sgd_at_budget updates the caller's w in place": ("sgd_at_budget", """
        solution_sgd_at_budget = sgd_at_budget
        def sgd_at_budget(X, y, w, batch_size, budget, lr, rng):
            w_final, losses = solution_sgd_at_budget(X, y, w, batch_size, budget, lr, rng)
            w[...] = w_final
            return w, losses
    """),
    "sgd_at_budget leaves out the loss before the first step": ("sgd_at_budget", """
        solution_sgd_at_budget = sgd_at_budget
        def sgd_at_budget(X, y, w, batch_size, budget, lr, rng):
            w_final, losses = solution_sgd_at_budget(X, y, w, batch_size, budget, lr, rng)
            return w_final, losses[1:]
    """),
    "standardize_fit finds constant columns by std == 0": ("standardize_fit", """
        def standardize_fit(X):
            X = np.asarray(X, dtype=np.float64)
            std = X.std(axis=0)
            return X.mean(axis=0), np.where(std == 0, 1.0, std)
    """),
}


@pytest.fixture(scope="module")
def cells() -> dict[str, str]:
    return {nbgrader_meta(c).get("grade_id"): c.source for c in read(source_path(CHAPTER)).cells
            if nbgrader_meta(c).get("grade_id")}


def solution_namespace() -> dict:
    namespace = {"__name__": "__main__"}
    for cell in read(source_path(CHAPTER)).cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and (meta.get("grade_id") == "setup"
                                         or (meta.get("solution") and not meta.get("grade"))):
            exec(compile(cell.source, meta["grade_id"], "exec"), namespace)  # noqa: S102
    return namespace


def run_tests_of(exercise: str, cells: dict[str, str], namespace: dict) -> None:
    for test_id, source in cells.items():
        if test_id.split("__")[0] == exercise and "__" in test_id:
            exec(compile(source, test_id, "exec"), namespace)  # noqa: S102


@pytest.mark.parametrize("exercise", sorted({exercise for exercise, _ in MISTAKES.values()}))
def test_the_solution_passes_the_tests_the_mistakes_fail(exercise, cells):
    run_tests_of(exercise, cells, solution_namespace())


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_classic_mistake_fails_its_exercise(mistake, cells):
    exercise, code = MISTAKES[mistake]
    namespace = solution_namespace()
    exec(compile(textwrap.dedent(code), mistake, "exec"), namespace)  # noqa: S102
    with pytest.raises(Exception):  # noqa: B017  (a failed check, or the error it provokes)
        run_tests_of(exercise, cells, namespace)
