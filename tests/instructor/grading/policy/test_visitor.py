"""The walk over a cell: every attack from issue #9 is caught, with its line and construct
(autograder/instructor/grading/policy/visitor.py)."""

from __future__ import annotations

import pytest

from autograder.instructor.grading.policy import MAGIC

from .checks import check

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
