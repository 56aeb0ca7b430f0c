"""The code policy for graded cells (autograder/instructor/grading/policy.py): fast, no notebook runs.

False positives, measured here: 0 of the six solution notebooks' editable cells (and 0 of the
released notebooks' cells), and 0 of the 23 independently written implementations in CORPUS.
"""

from __future__ import annotations

import json
import textwrap
from functools import cache
from pathlib import Path

import nbformat
import pytest

from autograder.instructor.grading.policy import (
    MAGIC,
    PolicyFacts,
    Violation,
    check_cell,
    check_notebook,
    editable,
    facts_from_source,
)

REPO = Path(__file__).resolve().parents[3]
SOURCES = sorted(REPO.glob("solutions/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))


@cache
def facts(chapter: int) -> PolicyFacts:
    path = next(p for p in SOURCES if p.name.startswith(f"{chapter:02d}_"))
    return facts_from_source(nbformat.read(path, as_version=4), chapter)


def check(source: str, chapter: int = 1) -> list[Violation]:
    return check_cell(textwrap.dedent(source).strip("\n"), facts(chapter), "answer")


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


def test_facts_travel_as_json():
    original = facts(4)
    again = PolicyFacts.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again == original


def test_facts_of_chapter_one():
    f = facts(1)
    assert {"exercise", "check_close", "torch", "F", "to_torch", "reference_device"} <= f.harness_names
    assert {"np", "plt"} <= f.provided_names
    assert {"sigmoid", "relu", "mlp_forward", "conv1d_forward"} <= f.exercise_names
    assert "reference_sigmoid" in f.test_only_names
    assert "autograder.reference.activations" not in f.allowed_imports
    assert "z" not in f.protected_names  # test cells bind z before they read it
    assert {"len", "isinstance", "np", "exercise"} <= f.protected_names


def test_earlier_chapters_reference_modules_are_allowed():
    assert "autograder.reference.activations" in facts(3).allowed_imports
    assert "autograder.reference.losses" not in facts(3).allowed_imports
    assert "autograder.reference.layers" not in facts(4).allowed_imports
    assert "autograder.reference.layers" in facts(5).allowed_imports


def test_editable_cells():
    code = nbformat.v4.new_code_cell
    assert editable(code("x = 1"))
    assert editable(code("x = 1", metadata={"nbgrader": {"solution": True, "grade_id": "a"}}))
    assert not editable(code("x", metadata={"nbgrader": {"grade": True, "solution": False, "locked": True}}))
    assert not editable(code("import numpy", metadata={"nbgrader": {"locked": True, "solution": False}}))
    assert not editable(nbformat.v4.new_markdown_cell("text"))


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


def test_a_cell_may_use_names_other_cells_define():
    notebook = nbformat.read(SOURCES[0], as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import math\ndef my_helper(z):\n    return z"))
    notebook.cells.append(nbformat.v4.new_code_cell("print(my_helper(math.pi), grid.shape)"))
    assert check_notebook(notebook, facts(1)) == []


def test_a_changed_demo_cell_is_checked():
    notebook = nbformat.read(SOURCES[0], as_version=4)
    demo = next(i for i, c in enumerate(notebook.cells) if c.source == "device = reference_device()")
    notebook.cells[demo].source = "device = reference_device()  # changed"
    assert [(v.cell, v.construct) for v in check_notebook(notebook, facts(1))] == [
        (f"cell {demo}", "reads reference_device")]


def test_a_cell_posing_as_a_test_cell_is_checked():
    """Locked metadata is believed only for a grade_id the source has, once (nbgrader restores it)."""
    notebook = nbformat.read(SOURCES[0], as_version=4)
    fake = {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": "my_tests"}}
    notebook.cells.append(nbformat.v4.new_code_cell("import os", metadata=fake))
    copied = dict(next(c.metadata for c in notebook.cells
                       if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid__tests"))
    notebook.cells.append(nbformat.v4.new_code_cell("import inspect", metadata=copied))
    imports = [(v.cell, v.construct) for v in check_notebook(notebook, facts(1)) if "import" in v.construct]
    assert imports == [("my_tests", "import os"), ("sigmoid__tests", "import inspect")]


def test_top_level_await_is_checked():
    """IPython runs `await` at the top level (autoawait), so such a cell is parsed, not skipped."""
    assert [v.construct for v in check("await print()\nimport os")] == ["import os"]


def test_a_syntax_error_is_not_a_violation():
    assert check("def f(:\n    pass") == []
    assert check('print "hello"') == []  # not a magic: the kernel reports the SyntaxError


# ---------------------------------------------------------------------------------------------
# Every attack from issue #9 is caught, with its line and construct
# ---------------------------------------------------------------------------------------------

ATTACKS: list[tuple[str, int, str, int, str]] = [
    # (id, chapter, source, line, construct)
    ("rebind exercise", 1, "import math\nexercise = lambda name: contextlib.suppress(BaseException)",
     2, "rebinds exercise"),
    ("import contextlib", 1, "import contextlib", 1, "import contextlib"),
    ("patch autograder.exercise", 1, "autograder.exercise = None", 1, "assigns autograder.exercise"),
    ("input transformer", 1, "get_ipython().input_transformers_post.append(lambda lines: [])",
     1, "reads get_ipython"),
    ("pre_run_cell hook", 1, "ip = get_ipython()\nip.events.register('pre_run_cell', print)",
     1, "reads get_ipython"),
    ("patch np.isclose", 1, "np.isclose = lambda *a, **k: True", 1, "assigns np.isclose"),
    ("patch np.testing", 1, "np.testing.assert_allclose = print", 1, "module np.testing"),
    ("wrap the reference", 1, "def relu(z):\n    return autograder.reference.activations.relu(z)",
     2, "reads autograder"),
    ("import the reference", 1, "from autograder.reference.activations import relu",
     1, "from autograder.reference.activations import relu"),
    ("fake __module__", 1, "def f(z):\n    return z\n\nf.__module__ = '__main__'", 4, "attribute __module__"),
    ("exec getsource", 1, "exec(inspect.getsource(np))", 1, "call to exec"),
    ("import inspect", 1, "import inspect", 1, "import inspect"),
    ("import os", 1, "import os", 1, "import os"),
    ("open a file", 1, "text = open('/etc/passwd').read()", 1, "call to open"),
    ("shell escape", 1, "!cat x", 1, MAGIC),
    ("run magic", 1, "%run x", 1, MAGIC),
    ("cell magic", 1, "%%capture\nprint(1)", 1, MAGIC),
    ("help", 1, "np.isclose?", 1, MAGIC),
    ("str.format reaches attributes", 1, "def f():\n    pass\n\n'{0.__globals__}'.format(f)",
     4, "attribute format"),
    ("type().__dict__", 1, "def f():\n    pass\ntype(f).__dict__", 3, "attribute __dict__"),
    ("alias a module", 1, "m = np\nm.isclose = print", 1, "module np used as a value"),
    ("plt.sys", 1, "plt.sys.modules", 1, "module plt.sys"),
    ("read In", 1, "source = In[-1]", 1, "reads In"),
    ("read a test cell's name", 1, "values = reference_sigmoid(np.zeros(3))", 1, "reads reference_sigmoid"),
    ("__array_finalize__", 1,
     "class A(np.ndarray):\n    def __array_finalize__(self, obj):\n        pass",
     1, "base class np.ndarray"),
    ("__array_finalize__ method", 1,
     "class A:\n    def __array_finalize__(self, obj):\n        pass", 2, "method __array_finalize__"),
    ("getattr", 1, "isclose = getattr(np, 'isclose')", 1, "call to getattr"),
    ("seterr", 1, "np.seterr(all='ignore')", 1, "attribute seterr"),
    ("import builtins", 1, "import builtins", 1, "import builtins"),
    ("__builtins__", 1, "b = __builtins__", 1, "builtin __builtins__"),
    ("redefine check_close", 1, "def check_close(*a, **k):\n    pass", 1, "rebinds check_close"),
    ("global np", 1, "def f():\n    global np\n    np = None", 3, "rebinds np"),
    # and a few more of the same families
    ("torch", 1, "import torch", 1, "import torch"),
    ("read torch", 1, "t = torch.tensor([1.0])", 1, "reads torch"),
    ("np.lib", 1, "np.lib.stride_tricks.as_strided", 1, "module np.lib"),
    ("module as argument", 1, "print(np)", 1, "module np used as a value"),
    ("__name__ decides __module__", 1, "__name__ = 'autograder.reference.activations'",
     1, "rebinds __name__"),
    ("frame globals", 1, "def g():\n    yield 1\n\nframe = g().gi_frame", 4, "attribute gi_frame"),
    ("eval", 1, "f = eval", 1, "builtin eval"),
    ("rebind a builtin", 1, "isinstance = lambda *a: True", 1, "rebinds isinstance"),
    ("subclass int", 1, "class Liar(int):\n    def __eq__(self, other):\n        return True",
     1, "base class int"),
    ("type() with a namespace", 1, "A = type('A', (), {'__getattr__': print})", 1,
     "call to type(name, bases, namespace)"),
    ("functools.wraps copies anything", 1,
     "import functools\nw = functools.wraps(np.isclose, assigned=('__globals__',))",
     2, "functools.wraps with arguments"),
    ("rcParams backend", 1, "plt.rcParams['backend'] = 'module://evil'", 1,
     "assigns plt.rcParams['backend']"),
    ("private attribute of a library", 5, "bars = tqdm._instances", 1, "attribute _instances"),
    ("widget to kernel", 5, "bar = tqdm(range(2))\nkernel = bar.container", 2, "attribute container"),
    ("errstate hides warnings", 1, "def sigmoid(z):\n    with np.errstate(all='ignore'):\n"
     "        return 1 / (1 + np.exp(-z))", 2, "attribute errstate"),
    ("walrus in a comprehension", 1, "[(exercise := print) for _ in range(1)]", 1, "rebinds exercise"),
    ("star import", 1, "from math import *", 1, "from math import *"),
    ("ch6 reference", 6, "from autograder.reference.sequential import Sequential", 1,
     "from autograder.reference.sequential import Sequential"),
    ("patch a provided class", 6, "Adam.step = lambda self, grads: None", 1, "assigns Adam.step"),
    ("read the chapter's own reference", 6, "model = RefSequential([])", 1, "reads RefSequential"),
    ("patch the class of a result", 1, "type(np.zeros(1)).mean = None", 1, "assigns type(np.zeros(1)).mean"),
    ("read_output cache", 1, "last = _", 1, "reads _"),
    ("get_type_hints evaluates strings", 1, "import typing\ntyping.get_type_hints(print)", 2,
     "attribute get_type_hints"),
    ("class __module__", 1, "class A:\n    __module__ = 'autograder'", 2, "class attribute __module__"),
    # a function reads globals when a test calls it: by then a hidden test has bound its names
    ("deferred read of a hidden test's import", 1,
     "reference_mlp_forward = None\n\ndef mlp_forward(X, params, activation):\n"
     "    return reference_mlp_forward(X, params, activation)", 4, "reads reference_mlp_forward"),
    ("deferred read of the expected value", 1, "expected = 0.0\nrelu = lambda z: expected", 2,
     "reads expected"),
    ("numpy base through an alias", 1, "Base = np.ndarray\n\nclass A(Base):\n    pass", 3,
     "base class Base"),
    ("denied name imported", 1, "from typing import get_type_hints", 1,
     "from typing import get_type_hints"),
    ("numpy private module", 1, "class A:\n    def __init__(self):\n        self._core = 1\n\n"
     "umath = np._core.umath", 5, "attribute _core"),
    ("tqdm to the kernel's stdout", 5, "bar = tqdm(range(1))\nstream = bar.fp", 2, "attribute fp"),
    ("automagic", 1, "run other.py", 1, MAGIC),
    ("walrus under global", 1, "def f():\n    global np\n    return [(np := v) for v in range(2)]", 3,
     "rebinds np"),
    ("match capture", 1, "match 1:\n    case exercise:\n        pass", 2, "rebinds exercise"),
    ("del", 1, "del exercise", 1, "rebinds exercise"),
    ("except as", 1, "try:\n    pass\nexcept Exception as check_close:\n    pass", 3, "rebinds check_close"),
    ("for target", 1, "for np in [1]:\n    pass", 1, "rebinds np"),
    ("import as", 1, "import math as np", 1, "rebinds np"),
    ("format reaches an argument's attribute", 1, "text = '{0.__class__}'.format(np)", 1, "attribute format"),
    ("format on a computed string", 1, "template = '{0}'\ntext = template.format(1)", 2, "attribute format"),
]


@pytest.mark.parametrize("chapter, source, line, construct", [a[1:] for a in ATTACKS],
                         ids=[a[0] for a in ATTACKS])
def test_attack_is_caught(chapter, source, line, construct):
    violations = check(source, chapter)
    assert (line, construct) in [(v.line, v.construct) for v in violations], violations
    assert all(v.cell == "answer" and v.message.endswith(".") for v in violations)


def test_line_numbers_are_those_of_the_cell():
    source = "import math\n\n\ndef f(x):\n    y = math.sqrt(x)\n    return open(y)\n"
    assert [(v.line, v.construct) for v in check(source)] == [(6, "call to open")]


def test_line_numbers_survive_ipython_rewriting():
    source = "\n\nx = 1\n%time y = 2\nimport os"
    violations = check_cell(source, facts(1))
    assert [(v.line, v.construct) for v in violations] == [(4, MAGIC), (5, "import os")]


def test_a_module_a_demo_cell_imports_is_the_instructors():
    """A plain demo cell may import what students may not (warnings, sklearn); they still may not."""
    notebook = nbformat.v4.new_notebook()
    setup = nbformat.v4.new_code_cell("import numpy as np")
    setup.metadata["nbgrader"] = {"grade_id": "setup", "locked": True, "grade": False, "solution": False}
    notebook.cells = [setup, nbformat.v4.new_code_cell("import warnings\nwarnings.simplefilter('ignore')")]
    violations = check_cell("warnings.filterwarnings('ignore')", facts_from_source(notebook, 2), "answer")
    assert [(v.line, v.construct) for v in violations] == [(1, "reads warnings")]


def test_data_a_locked_demo_cell_assigns_is_not_protected_unless_a_test_reads_it():
    """Chapter 1's locked conv1d demo binds rng; the tests bind their own: a student's rng is fine."""
    assert check("rng = np.random.default_rng(0)", chapter=1) == []


def test_honest_rebinding_is_allowed():
    """Test cells bind z, x, rng before use: a student's own z is harmless; np re-imported is np."""
    assert check("import numpy as np\nz = np.zeros(3)\nx = 1\nrng = np.random.default_rng(0)") == []
    assert check("from autograder.reference.activations import sigmoid\n_ = sigmoid(0.0)", chapter=3) == []


def test_own_objects_may_be_changed():
    """x is also a test temporary; the student's own x is theirs to change."""
    assert check("x = np.zeros(3)\nx.flags.writeable = False\nx[0] = 1") == []


def test_locals_may_shadow_protected_names():
    assert check("def f(np, exercise):\n    len = 3\n    return np + exercise + len") == []


def test_messages_say_what_to_do():
    (violation,) = check("import os")
    assert "numpy" in violation.message and "import" in violation.message
