"""Chapter 4's test cells catch the classic mistakes (issues 11 and 12), with a message that names
each: every mistake is planted in the solution, and the exercise's test cells must fail with the
hint; the untouched solution must pass them.

The notebook's setup cell, its locked (readonly) cells and its solution cells run in one namespace
(as ``__main__``, so ``check_own_code`` accepts them); a mistake redefines one exercise on top of
the solution, and then that exercise's test cells run.
"""

from __future__ import annotations

import re
import textwrap

import matplotlib
import pytest

from tests.chapters import nbgrader_meta, read, source_path

matplotlib.use("Agg")

CHAPTER = "04_backprop_in_practice"
pytestmark = [pytest.mark.chapter(4), pytest.mark.slow]

# mistake -> (exercise, code run after the solution, a phrase the failure message must hold)
MISTAKES = {
    "batch norm returns the caller's running arrays in evaluation mode": ("batchnorm_forward", """
        solution_forward = batchnorm_forward
        def batchnorm_forward(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
            out, cache, new_running = solution_forward(x, gamma, beta, running, train, momentum, eps)
            return out, cache, (new_running if train else running)
    """, "caller's own array"),
    "batch norm with CS231n's momentum convention": ("batchnorm_forward", """
        solution_forward = batchnorm_forward
        def batchnorm_forward(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
            return solution_forward(x, gamma, beta, running, train, 1 - momentum, eps)
    """, "weighs the NEW batch statistic"),
    "batch norm's running variance biased": ("batchnorm_forward", """
        solution_forward = batchnorm_forward
        def batchnorm_forward(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
            out, cache, (mean, var) = solution_forward(x, gamma, beta, running, train, momentum, eps)
            if train:
                var = (1 - momentum) * running[1] + momentum * x.var(axis=0)
            return out, cache, (mean, var)
    """, "unbiased"),
    "db summed over the wrong axis": ("linear_backward", """
        def linear_backward(dout, cache):
            x, W, b = cache
            return dout @ W.T, x.T @ dout, dout.sum(axis=1)
    """, "axis 0"),
    "sigmoid by np.where over two overflowing branches": ("activation_layers", """
        def sigmoid_forward(x):
            out = np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
            return out, out
    """, "np.where evaluates both branches"),
    "relu_backward with slope 1 at 0": ("activation_layers", """
        def relu_backward(dout, cache):
            return dout * (cache >= 0)
    """, "relu_backward vs torch"),
    "network_backward skips the activation's backward": ("network_backward", """
        def network_backward(dscores, caches, activation="relu"):
            grads, dout = {}, dscores
            for k in range(len(caches), 0, -1):
                dout, grads[f"W{k}"], grads[f"b{k}"] = linear_backward(dout, caches[k - 1][0])
            return grads
    """, "vs torch"),
    "network_forward applies the activation to the scores too": ("network_forward", """
        solution_network_forward = network_forward
        def network_forward(X, params, activation="relu"):
            scores, caches = solution_network_forward(X, params, activation)
            return ACTIVATION_LAYERS[activation][0](scores)[0], caches
    """, "scores"),
    "train_step rebinds the parameters instead of updating them in place": ("train_step", """
        def train_step(params, X, y, lr, activation="relu"):
            scores, caches = network_forward(X, params, activation)
            loss, dscores = softmax_cross_entropy(scores, y)
            grads = network_backward(dscores, caches, activation)
            for name in params:
                params[name] = params[name] - lr * grads[name]
            return loss
    """, "in place"),
    "loss_at_init's expected value is log(N), not log(C)": ("loss_at_init", """
        solution_loss_at_init = loss_at_init
        def loss_at_init(params, X, y, activation="relu"):
            loss, _ = solution_loss_at_init(params, X, y, activation)
            return loss, float(np.log(len(X)))
    """, "log C"),
    "count_distinct_units compares columns exactly": ("count_distinct_units", """
        def count_distinct_units(W, atol=1e-8):
            return len({tuple(column) for column in W.T})
    """, "count_distinct_units"),
    "SGD with the dampened momentum": ("SGD", """
        class SGD(SGD):
            def step(self, grads):
                super().step({name: (1 - self.momentum) * g if self.momentum else g
                              for name, g in grads.items()})
    """, "SGD"),
    "Adam without bias correction": ("Adam", """
        class Adam(Adam):
            def step(self, grads):
                self.t = 0
                for name, param in self.params.items():
                    g = grads[name]
                    self.m[name] = self.beta1 * self.m[name] + (1 - self.beta1) * g
                    self.v[name] = self.beta2 * self.v[name] + (1 - self.beta2) * g**2
                    param -= self.lr * self.m[name] / (np.sqrt(self.v[name]) + self.eps)
    """, "bias-corrected"),
    "clip_grad_norm returns the dict it was given": ("clip_grad_norm", """
        solution_clip_grad_norm = clip_grad_norm
        def clip_grad_norm(grads, max_norm):
            clipped, total_norm = solution_clip_grad_norm(grads, max_norm)
            grads.update(clipped)
            return grads, total_norm
    """, "clip_grad_norm"),
}

# Mistakes a visible test must catch (issue 20: every requirement a hidden test checks is visible).
VISIBLE_MISTAKES = {
    "batch norm's one-pass variance mean(x**2) - mean**2": ("batchnorm_forward", """
        solution_forward = batchnorm_forward
        def batchnorm_forward(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
            out, cache, new_running = solution_forward(x, gamma, beta, running, train, momentum, eps)
            if not train:
                return out, cache, new_running
            n, mean = x.shape[0], x.mean(axis=0)
            var = (x**2).mean(axis=0) - mean**2
            inv_std = 1.0 / np.sqrt(var + eps)
            x_hat = (x - mean) * inv_std
            new_running = ((1 - momentum) * running[0] + momentum * mean,
                           (1 - momentum) * running[1] + momentum * var * n / (n - 1))
            return gamma * x_hat + beta, (x_hat, gamma, inv_std, train), new_running
    """, "mean((x - mean)**2)"),
    "count_distinct_units compares with every earlier column": ("count_distinct_units", """
        def count_distinct_units(W, atol=1e-8):
            columns = list(W.T)
            return sum(1 for j, column in enumerate(columns)
                       if not any(np.max(np.abs(column - other)) <= atol for other in columns[:j]))
    """, "already counted"),
    "loss_at_init counts the classes present in y": ("loss_at_init", """
        solution_loss_at_init = loss_at_init
        def loss_at_init(params, X, y, activation="relu"):
            loss, _ = solution_loss_at_init(params, X, y, activation)
            return loss, float(np.log(len(np.unique(y))))
    """, "only classes 0, 1, 2"),
    "conv1d_backward overwrites where windows overlap": ("conv1d_backward", """
        def conv1d_backward(dout, cache):
            x, w, b, stride = cache
            kernel_size = w.shape[2]
            dx, dw = np.zeros_like(x), np.zeros_like(w)
            for t in range(dout.shape[2]):
                start, stop = t * stride, t * stride + kernel_size
                dw += np.tensordot(dout[:, :, t], x[:, :, start:stop], axes=([0], [0]))
                dx[:, :, start:stop] = np.tensordot(dout[:, :, t], w, axes=([1], [0]))
            return dx, dw, dout.sum(axis=(0, 2))
    """, "never ="),
    "rnn_backward drops the gradient from the next step": ("rnn_backward", """
        def rnn_backward(dh, cache):
            x, h0, Wx, Wh, h = cache
            dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
            dh0 = np.zeros_like(h0)
            for t in reversed(range(x.shape[1])):
                dz = dh[:, t] * (1 - h[:, t] ** 2)
                previous = h[:, t - 1] if t > 0 else h0
                dx[:, t], dh0 = dz @ Wx.T, dz @ Wh.T
                dWx += x[:, t].T @ dz
                dWh += previous.T @ dz
                db += dz.sum(axis=0)
            return dx, dh0, dWx, dWh, db
    """, "vs torch.nn.RNN"),
    "conv2d_backward returns the padded gradient": ("conv2d_backward", """
        solution_conv2d_backward = conv2d_backward
        def conv2d_backward(dout, cache):
            x, w, b, stride, pad = cache
            padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            return solution_conv2d_backward(dout, (padded, w, b, stride, 0))  # dx of the padded shape
    """, "cut the padding off"),
    "conv2d_forward ignores the stride": ("conv2d_forward", """
        solution_conv2d_forward = conv2d_forward
        def conv2d_forward(x, w, b, stride=1, pad=0):
            out, _ = solution_conv2d_forward(x, w, b, 1, pad)
            return out, (x, w, b, stride, pad)
    """, "stride 2"),
}
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.S)


@pytest.fixture(scope="module")
def notebook():
    return read(source_path(CHAPTER))


@pytest.fixture(scope="module")
def solution(notebook) -> dict:
    """The namespace after the setup, locked and solution cells (no demo, no test cell)."""
    namespace = {"__name__": "__main__"}
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta and not meta.get("grade"):
            exec(compile(cell.source, meta["grade_id"], "exec"), namespace)  # noqa: S102
    return namespace


def run_tests(notebook, namespace: dict, exercise: str, visible_only: bool = False) -> None:
    tests = [c for c in notebook.cells if nbgrader_meta(c).get("grade_id", "").startswith(exercise + "__")]
    assert tests, f"no test cell for {exercise}"
    for cell in tests:
        source = HIDDEN.sub("", cell.source) if visible_only else cell.source
        exec(compile(source, nbgrader_meta(cell)["grade_id"], "exec"), namespace)  # noqa: S102


@pytest.mark.parametrize("exercise", sorted({exercise for exercise, _, _ in MISTAKES.values()}))
def test_the_solution_passes(notebook, solution, exercise):
    run_tests(notebook, dict(solution), exercise)


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_the_mistake_fails_with_a_message_that_names_it(notebook, solution, mistake):
    exercise, code, phrase = MISTAKES[mistake]
    namespace = dict(solution)
    exec(compile(textwrap.dedent(code), mistake, "exec"), namespace)  # noqa: S102
    with pytest.raises(AssertionError) as failure:
        run_tests(notebook, namespace, exercise)
    assert phrase in str(failure.value), f"{mistake}: the message does not say {phrase!r}: {failure.value}"


@pytest.mark.parametrize("mistake", list(VISIBLE_MISTAKES))
def test_the_visible_tests_catch_the_mistake(notebook, solution, mistake):
    exercise, code, phrase = VISIBLE_MISTAKES[mistake]
    run_tests(notebook, dict(solution), exercise, visible_only=True)  # the solution passes them
    namespace = dict(solution)
    exec(compile(textwrap.dedent(code), mistake, "exec"), namespace)  # noqa: S102
    with pytest.raises(AssertionError) as failure:
        run_tests(notebook, namespace, exercise, visible_only=True)
    assert phrase in str(failure.value), f"{mistake}: the message does not say {phrase!r}: {failure.value}"
