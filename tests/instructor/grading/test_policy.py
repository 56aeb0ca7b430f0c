"""The code policy for graded cells, through its API (autograder/instructor/grading/policy/): fast, no
notebook runs. Each of its files has its own tests under tests/instructor/grading/policy/.

False positives, measured here: 0 of the six solution notebooks' editable cells (and 0 of the
released notebooks' cells), and 0 of the 23 independently written implementations in CORPUS.
"""

from __future__ import annotations

import nbformat
import pytest

from autograder.instructor.grading.policy import (
    check_cell,
    check_notebook,
    editable,
)

from .policy.checks import REPO, SOURCES, check, facts

# ---------------------------------------------------------------------------------------------
# The solutions and the released notebooks pass
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_every_solution_notebook_passes(path):
    chapter = int(path.name[:2])
    notebook = nbformat.read(path, as_version=4)
    assert check_notebook(notebook, facts(chapter)) == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_every_released_notebook_passes(path):
    """The student's starting point: stubs that raise, the instructor's demo cells."""
    released = REPO / "chapters" / path.parent.name / path.name
    if not released.exists():
        pytest.skip("chapters/ not generated")
    chapter = int(path.name[:2])
    assert check_notebook(nbformat.read(released, as_version=4), facts(chapter)) == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_solution_cells_pass_one_by_one_without_the_demo_cells(path):
    """A solution cell needs no trusted demo cell: its own rules are enough."""
    chapter = int(path.name[:2])
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if editable(cell) and meta.get("solution"):
            assert check_cell(cell.source, facts(chapter), meta["grade_id"]) == []


# ---------------------------------------------------------------------------------------------
# Independently written correct code passes
# ---------------------------------------------------------------------------------------------

CORPUS: list[tuple[int, str]] = [
    (1, """
        import math

        def sigmoid(z):
            z = np.asarray(z, dtype=float)
            out = np.empty_like(z)
            positive = z >= 0
            out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
            e = np.exp(z[~positive])
            out[~positive] = e / (1.0 + e)
            return out
    """),
    (1, """
        relu = lambda z: np.where(z > 0, z, 0.0)
        relu_grad = lambda z: (np.asarray(z) > 0).astype(float)
    """),
    (1, """
        from functools import reduce

        def mlp_forward(X, params, activation):
            *hidden_layers, (W_out, b_out) = params
            h = reduce(lambda acc, layer: activation(acc @ layer[0] + layer[1]), hidden_layers, X)
            return h @ W_out + b_out
    """),
    (1, """
        def count_parameters(layer_sizes):
            total = 0
            for n_in, n_out in zip(layer_sizes, layer_sizes[1:]):
                total += (n_in + 1) * n_out
            return total
    """),
    (1, """
        def _stable_exp_ratio(z):
            e = np.exp(-2.0 * np.abs(z))
            return (1.0 - e) / (1.0 + e)


        def tanh(z):
            return np.sign(z) * _stable_exp_ratio(z)


        def tanh_grad(z):
            return 1.0 - tanh(z) ** 2
    """),
    (1, """
        def conv1d_forward(x, w, b, stride=1):
            n, c_in, length = x.shape
            c_out, _, k = w.shape
            positions = range(0, length - k + 1, stride)
            out = np.stack([np.einsum("ncl,ocl->no", x[:, :, p:p + k], w) for p in positions], axis=-1)
            return out + b[None, :, None]
    """),
    (1, """
        rng = np.random.default_rng(0)
        z = rng.normal(size=(3, 4))
        print(f"{sigmoid(z).mean():.3f}", sigmoid(z).shape)
        fig, ax = plt.subplots()
        plt.style.use("default")
        ax.scatter(z.ravel(), relu(z).ravel(), c=z.ravel(), cmap=plt.cm.viridis)
        plt.show()
    """),
    (1, """
        def make_neuron(activation):
            def neuron(x, w, b):
                return activation(x @ w + b)
            return neuron

        neuron_with_tanh = make_neuron(np.tanh)
        try:
            value = neuron_with_tanh(np.ones((2, 3)), np.ones(3), 0.5)
        except ValueError as error:
            print("shape problem:", error)
    """),
    (1, """
        def rnn_step(x_t, h_prev, Wx, Wh, b):
            z = x_t @ Wx + h_prev @ Wh + b
            return np.tanh(z)

        def run_sequence(xs, h0, Wx, Wh, b):
            h = h0
            for x_t in xs:
                h = rnn_step(x_t, h, Wx, Wh, b)
                yield h

        states = list(run_sequence([np.zeros((1, 2))] * 3, np.zeros((1, 4)), np.ones((2, 4)),
                                   np.eye(4), np.zeros(4)))
    """),
    (3, """
        class Value:
            \"\"\"micrograd's scalar, written again.\"\"\"

            def __init__(self, data, _children=(), _op=""):
                self.data = float(data)
                self.grad = 0.0
                self._backward = lambda: None
                self._prev = set(_children)
                self._op = _op

            def __repr__(self):
                return f"{type(self).__name__}(data={self.data}, grad={self.grad})"

            def __add__(self, other: "Value") -> "Value":
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data + other.data, (self, other), "+")

                def _backward():
                    self.grad += out.grad
                    other.grad += out.grad
                out._backward = _backward
                return out

            def __mul__(self, other):
                other = other if isinstance(other, Value) else Value(other)
                out = Value(self.data * other.data, (self, other), "*")

                def _backward():
                    self.grad += other.data * out.grad
                    other.grad += self.data * out.grad
                out._backward = _backward
                return out

            __radd__ = __add__
            __rmul__ = __mul__

            def tanh(self):
                t = math.tanh(self.data)
                out = Value(t, (self,), "tanh")

                def _backward():
                    self.grad += (1 - t ** 2) * out.grad
                out._backward = _backward
                return out

            def backward(self):
                order, seen = [], set()

                def build(node):
                    if node not in seen:
                        seen.add(node)
                        for child in node._prev:
                            build(child)
                        order.append(node)
                build(self)
                self.grad = 1.0
                for node in reversed(order):
                    node._backward()

        import math
    """),
    (3, """
        def softmax(logits):
            shifted = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            return e / e.sum(axis=1, keepdims=True)

        def cross_entropy(logits, y):
            log_probs = logits - logits.max(axis=1, keepdims=True)
            log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
            return -log_probs[np.arange(len(y)), y].mean()

        def binary_cross_entropy_grad(logits, y):
            return (sigmoid(logits) - y) / y.size
    """),
    (3, """
        def numerical_gradient(f, x, h=1e-5):
            x = np.array(x, dtype=np.float64)
            grad = np.zeros_like(x)
            for index in np.ndindex(*x.shape):
                saved = x[index]
                x[index] = saved + h
                up = f(x)
                x[index] = saved - h
                down = f(x)
                x[index] = saved
                grad[index] = (up - down) / (2 * h)
            return grad
    """),
    (4, """
        from dataclasses import dataclass, field


        @dataclass
        class SGD:
            params: dict
            lr: float
            momentum: float = 0.0
            velocity: dict = field(default_factory=dict)

            def step(self, grads):
                for name, grad in grads.items():
                    v = self.momentum * self.velocity.get(name, 0.0) + grad
                    self.velocity[name] = v
                    self.params[name] -= self.lr * v
    """),
    (4, """
        class Optimizer:
            def __init__(self, params, lr):
                self.params = params
                self.lr = lr
                self.t = 0

            def step(self, grads):
                self.t += 1
                for name in self.params:
                    self.params[name] -= self.update(name, grads[name])

            def update(self, name, grad):
                raise NotImplementedError


        class Adam(Optimizer):
            def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
                super().__init__(params, lr)
                self.beta1, self.beta2 = betas
                self.eps = eps
                self.m = {k: np.zeros_like(v) for k, v in params.items()}
                self.v = {k: np.zeros_like(v) for k, v in params.items()}

            def update(self, name, grad):
                self.m[name] = self.beta1 * self.m[name] + (1 - self.beta1) * grad
                self.v[name] = self.beta2 * self.v[name] + (1 - self.beta2) * grad ** 2
                m_hat = self.m[name] / (1 - self.beta1 ** self.t)
                v_hat = self.v[name] / (1 - self.beta2 ** self.t)
                return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
    """),
    (4, """
        import itertools


        def iterate_minibatches(X, y, batch_size, shuffle=True, rng=None):
            order = (rng or np.random.default_rng()).permutation(len(X)) if shuffle else np.arange(len(X))
            for start in itertools.count(0, batch_size):
                if start >= len(X):
                    return
                batch = order[start:start + batch_size]
                yield X[batch], y[batch]
    """),
    (4, """
        def he_normal(fan_in, fan_out, rng):
            return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))

        def xavier_uniform(fan_in, fan_out, rng):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-limit, limit, size=(fan_in, fan_out))

        def clip_grad_norm(grads, max_norm):
            total = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            if total > max_norm:
                grads = {k: g * (max_norm / (total + 1e-6)) for k, g in grads.items()}
            return grads, total
    """),
    (5, """
        import math
        from collections import Counter

        def train_test_split(X, y, test_size=0.25, rng=None):
            rng = rng if rng is not None else np.random.default_rng()
            test_rows = []
            for label, count in sorted(Counter(y.tolist()).items()):
                rows = rng.permutation(np.flatnonzero(y == label))
                test_rows.extend(rows[:math.ceil(test_size * count)].tolist())
            test_mask = np.zeros(len(y), dtype=bool)
            test_mask[test_rows] = True
            return X[~test_mask], X[test_mask], y[~test_mask], y[test_mask]

        one_hot = lambda y, k: np.eye(k)[y]
    """),
    (5, """
        class EarlyStopping:
            def __init__(self, patience, min_delta=0.0):
                self.patience = patience
                self.min_delta = min_delta
                self.best_loss = math.inf
                self.best_params = None
                self.bad_epochs = 0

            def step(self, loss, params):
                if loss < self.best_loss - self.min_delta:
                    self.best_loss, self.bad_epochs = loss, 0
                    self.best_params = copy.deepcopy(params)
                    return False
                self.bad_epochs += 1
                return self.bad_epochs >= self.patience

        for epoch in tqdm(range(3), desc="demo"):
            time.sleep(0)
    """),
    (6, """
        class Dense:
            def __init__(self, units, activation=None):
                self.units = units
                self.activation = activation
                self.params = {}
                self.grads = {}
                self.trainable = True
                self._cache = None

            def build(self, n_inputs, rng):
                self.params = {"W": xavier_uniform(n_inputs, self.units, rng), "b": np.zeros(self.units)}

            def forward(self, x, training=False):
                z, linear_cache = linear_forward(x, self.params["W"], self.params["b"])
                self._cache = linear_cache
                return relu_forward(z)[0] if self.activation == "relu" else z

        if __name__ == "__main__":
            layer = Dense(3)
            layer.build(2, np.random.default_rng(0))
    """),
    (6, """
        def input_gradient(model, x, label):
            grads = {}
            with_batch = x[None, :] if x.ndim == 1 else x
            logits = model.predict(with_batch)
            probs = softmax(logits)
            probs[np.arange(len(probs)), label] -= 1.0
            dout = probs / len(probs)
            for layer in reversed(model.layers):
                dout = layer.backward(dout)
            grads["x"] = dout.reshape(x.shape)
            return grads["x"]

        def policy_gradient(log_probs, actions, returns):
            chosen = np.take_along_axis(log_probs, actions[:, None], axis=1)[:, 0]
            return -np.mean(chosen * (returns - returns.mean()))
    """),
    (3, """
        import enum
        from collections import namedtuple

        import numpy.typing as npt

        Step = namedtuple("Step", ["x", "loss"])


        class Schedule(enum.Enum):
            CONSTANT = "constant"
            DECAY = "decay"


        class DivergedError(RuntimeError):
            pass


        def gradient_descent(grad_f, x0, lr, n_steps) -> npt.NDArray[np.float64]:
            trajectory = np.zeros((n_steps + 1,) + np.shape(x0))
            trajectory[0] = x0
            for t in range(n_steps):
                trajectory[t + 1] = trajectory[t] - lr * grad_f(trajectory[t].copy())
                if not np.all(np.isfinite(trajectory[t + 1])):
                    raise DivergedError("step {} diverged (lr = {:.2g})".format(t, lr))
            return trajectory
    """),
    (3, """
        calls = 0


        def counted(f):
            def wrapper(*args):
                global calls
                calls += 1
                return f(*args)
            return wrapper


        def make_counter():
            count = 0

            def bump():
                nonlocal count
                count += 1
                return count
            return bump


        class Meter:
            def __init__(self):
                self._total = 0.0

            @property
            def total(self):
                return self._total

            @total.setter
            def total(self, value):
                self._total = float(value)


        @counted
        def mse_loss(y_pred, y_true):
            match np.ndim(y_pred):
                case 0:
                    return float((y_pred - y_true) ** 2)
                case _:
                    return float(np.mean((y_pred - y_true) ** 2))
    """),
    (4, """
        from abc import ABC, abstractmethod
        from typing import Generic, TypeVar

        T = TypeVar("T")


        class Layer(ABC, Generic[T]):
            @abstractmethod
            def forward(self, x):
                ...


        class Momentum(SGD):
            def __init__(self, params, lr):
                super(Momentum, self).__init__(params, lr, momentum=0.9)


        class ReLU(Layer):
            def forward(self, x):
                self.mask = x > 0
                return np.where(self.mask, x, 0.0)

            def backward(self, dout):
                return dout * self.mask

            def __call__(self, x):
                return self.forward(x)
    """),
]


@pytest.mark.parametrize("chapter, source", CORPUS, ids=[f"corpus{i}" for i in range(len(CORPUS))])
def test_independent_implementations_pass(chapter, source):
    assert check(source, chapter) == []


def test_a_changed_demo_cell_is_checked():
    notebook = nbformat.read(SOURCES[0], as_version=4)
    demo = next(i for i, c in enumerate(notebook.cells) if c.source == "device = reference_device()")
    notebook.cells[demo].source = "device = reference_device()  # changed"
    assert [(v.cell, v.construct) for v in check_notebook(notebook, facts(1))] == [
        (f"cell {demo}", "reads reference_device")]
