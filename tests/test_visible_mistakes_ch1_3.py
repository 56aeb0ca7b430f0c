"""Chapters 1-3: each classic mistake fails a VISIBLE test cell, with a message that names it (issue 11).

A self-paced learner sees only the visible tests, so the mistakes that issue 11 found passing
them (a naive sigmoid, a relu_grad wrong at 0 or returning booleans, a float32 result, a
transposed ``Wh``) must fail there, and the message must point at the mistake. The notebook's
setup cell and solution cells run in one namespace (as ``__main__``, so ``check_own_code``
accepts them); a mistake redefines one exercise; then that exercise's test cells run with
their hidden region removed.
"""

from __future__ import annotations

import functools
import re
import textwrap

import matplotlib
import pytest

from tests.chapters import HIDDEN_REGION, nbgrader_meta, read, source_path

matplotlib.use("Agg")
pytestmark = pytest.mark.slow  # runs test cells of three notebooks, about 20 s

CHAPTERS = {1: "01_neural_network_basics", 2: "02_deep_learning", 3: "03_backprop_principle"}

# (chapter, exercise, mistaken code, words the failure message must contain; "!word": must not)
MISTAKES = {
    "sigmoid as written, 1 / (1 + np.exp(-z))": (1, "sigmoid", """
        def sigmoid(z):
            return 1.0 / (1.0 + np.exp(-z))
    """, ["overflow", "1e4"]),
    "sigmoid in float32": (1, "sigmoid", """
        def sigmoid(z):
            e = np.exp(-np.abs(z)).astype(np.float32)
            return np.where(z >= 0, np.float32(1.0), e) / (np.float32(1.0) + e)
    """, ["float32"]),
    "tanh as its definition": (1, "tanh", """
        def tanh(z):
            return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    """, ["1e4"]),
    "relu_grad with z >= 0 (1 at the kink)": (1, "relu_grad", """
        def relu_grad(z):
            return np.where(z >= 0, 1.0, 0.0)
    """, ["relu_grad([0.0])", "z > 0"]),
    "relu_grad returning booleans": (1, "relu_grad", """
        def relu_grad(z):
            return z > 0
    """, ["dtype", "bool"]),
    "relu writing into its argument": (1, "relu", """
        def relu(z):
            z[z < 0] = 0.0
            return z
    """, ["in place"]),
    "rnn_step with a transposed Wh": (1, "rnn_step", """
        def rnn_step(x_t, h_prev, Wx, Wh, b):
            return np.tanh(x_t @ Wx + h_prev @ Wh.T + b)
    """, ["Wh.T"]),
    "tanh's overflow advice is tanh's, not sigmoid's or softmax's": (1, "tanh", """
        def tanh(z):
            return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    """, ["overflow", "np.exp(-2 * np.abs(z))", "!sigmoid", "!softmax"]),
    "relu as np.max(z, 0)": (1, "relu", """
        def relu(z):
            return np.max(z, 0)
    """, ["np.maximum"]),
    "neuron with w on the wrong side": (1, "neuron", """
        def neuron(x, w, b, activation):
            return activation(w @ x + b)
    """, ["x @ w, not w @ x"]),
    "dense_forward with a transposed weight (non-square)": (1, "dense_forward", """
        def dense_forward(X, W, b):
            return X @ W.T + b
    """, ["transposed", "(in, out)"]),
    "dense_forward in float32 along the way": (1, "dense_forward", """
        def dense_forward(X, W, b):
            return X.astype(np.float32) @ W.astype(np.float32) + b
    """, ["float32"]),
    "count_parameters forgetting the biases": (1, "count_parameters", """
        def count_parameters(layer_sizes):
            return int(sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:])))
    """, ["count_parameters"]),
    "xor_network_params with integer arrays": (2, "xor_network_params", """
        def xor_network_params():
            return [(np.array([[1, 1], [1, 1]]), np.array([0, -1])), (np.array([[1], [-2]]), np.array([0]))]
    """, ["dtype", "int"]),
    "perceptron_train updating on every sample": (2, "perceptron_train", """
        def perceptron_train(X, y, epochs, lr):
            X = np.asarray(X, dtype=float)
            w, b = np.zeros(X.shape[1]), 0.0
            for _ in range(epochs):
                for x_i, y_i in zip(X, y):
                    w, b = w + lr * (y_i - (x_i @ w + b)) * x_i, b + lr * (y_i - (x_i @ w + b))
            return w, float(b)
    """, ["after learning AND"]),
    "backward_flops counting an input gradient for the first layer": (3, "backward_flops", """
        def backward_flops(layer_sizes, batch_size):
            return int(4 * batch_size * sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:])))
    """, ["first layer"]),
    "cross_entropy as the log of a softmax": (3, "cross_entropy", """
        def cross_entropy(logits, y):
            p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            return float(-np.mean(np.log(p[np.arange(len(y)), y])))
    """, ["overflow"]),
    "cross_entropy_grad without its 1/N": (3, "cross_entropy_grad", """
        def cross_entropy_grad(logits, y):
            exp = np.exp(logits - logits.max(axis=1, keepdims=True))
            grad = exp / exp.sum(axis=1, keepdims=True)
            grad[np.arange(len(y)), y] -= 1.0
            return grad
    """, ["4.0x", "1/N"]),
    "numerical_gradient writing into x": (3, "numerical_gradient", """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros_like(x)
            for index in np.ndindex(x.shape):
                x[index] += h
                f_plus = f(x)
                x[index] -= 2 * h
                f_minus = f(x)
                grad[index] = (f_plus - f_minus) / (2 * h)
            return grad
    """, ["in place"]),
}


@functools.cache
def cells(chapter: int) -> tuple[tuple[str, str, bool], ...]:
    """(grade_id, source, is_solution) of every graded or setup cell, in notebook order."""
    return tuple((nbgrader_meta(c)["grade_id"], c.source, bool(nbgrader_meta(c).get("solution")))
                 for c in read(source_path(CHAPTERS[chapter])).cells
                 if c.cell_type == "code" and nbgrader_meta(c).get("grade_id"))


def solution_namespace(chapter: int) -> dict:
    namespace = {"__name__": "__main__"}
    for grade_id, source, is_solution in cells(chapter):
        if grade_id == "setup" or is_solution:
            exec(compile(source, grade_id, "exec"), namespace)  # noqa: S102
    return namespace


def run_visible_tests(chapter: int, exercise: str, namespace: dict) -> None:
    for grade_id, source, is_solution in cells(chapter):
        if not is_solution and grade_id.split("__")[0] == exercise and "__" in grade_id:
            visible = HIDDEN_REGION.sub("", source).replace("### BEGIN HIDDEN TESTS\n", "")
            exec(compile(visible, grade_id, "exec"), namespace)  # noqa: S102


def marked(chapter: int, exercise: str, *values):
    return pytest.param(*values, marks=[pytest.mark.chapter(chapter), pytest.mark.exercise(exercise)])


@pytest.mark.parametrize("chapter, exercise", [marked(ch, ex, ch, ex) for ch, ex in
                                               sorted({(ch, ex) for ch, ex, _, _ in MISTAKES.values()})])
def test_the_solution_passes_the_visible_tests(chapter, exercise):
    run_visible_tests(chapter, exercise, solution_namespace(chapter))


@pytest.mark.parametrize("mistake", [marked(ch, ex, name) for name, (ch, ex, _, _) in MISTAKES.items()])
def test_each_mistake_fails_a_visible_test_with_a_message_that_names_it(mistake):
    chapter, exercise, code, words = MISTAKES[mistake]
    namespace = solution_namespace(chapter)
    exec(compile(textwrap.dedent(code), mistake, "exec"), namespace)  # noqa: S102
    with pytest.raises((AssertionError, ValueError)) as failure:  # ValueError: NumPy's own, named
        run_visible_tests(chapter, exercise, namespace)
    message = re.sub(r"\s+", " ", str(failure.value))
    for word in words:
        if word.startswith("!"):
            assert word[1:] not in message, f"{mistake}: the message mentions {word[1:]!r}: {message}"
        else:
            assert word in message, f"{mistake}: the message does not mention {word!r}: {message}"
