"""The policy's tables: allowed imports and builtins, denied attributes, and the messages a student reads."""

from __future__ import annotations

import re
from dataclasses import dataclass

from autograder.i18n import N_

# ---------------------------------------------------------------------------------------------
# Rule tables
# ---------------------------------------------------------------------------------------------

# Pure standard-library modules an exercise may need. Not operator (attrgetter reads any
# attribute by name), not inspect/sys/os/builtins/types/importlib/contextlib/warnings/string.
STDLIB_IMPORTS = frozenset({
    "math", "cmath", "functools", "itertools", "collections", "collections.abc", "dataclasses",
    "typing", "numbers", "statistics", "heapq", "bisect", "random", "copy", "enum", "abc",
    "fractions", "decimal", "time",
})
# numpy's and matplotlib's public modules a plot or an exercise may use (np.random, plt.cm);
# not np.lib, np.testing, np.ctypeslib, plt.sys, ...
NUMPY_IMPORTS = frozenset({"numpy", "numpy.random", "numpy.linalg", "numpy.fft", "numpy.typing",
                           "numpy.exceptions", "numpy.dtypes", "matplotlib.pyplot", "matplotlib.cm",
                           "matplotlib.style"})

# Top-level packages whose names are the harness: reading them is never allowed.
HARNESS_PACKAGES = frozenset({"autograder", "torch", "ipywidgets", "IPython", "ipykernel", "nbgrader"})
REFERENCE_PACKAGE = "autograder.reference"

FORBIDDEN_BUILTINS = frozenset({
    "exec", "eval", "compile", "getattr", "setattr", "delattr", "globals", "vars", "locals",
    "open", "__import__", "input", "breakpoint", "help", "exit", "quit", "copyright", "credits",
    "license", "__build_class__", "__loader__", "__spec__", "__builtins__",
})
# Names every kernel has that student code may read although no cell binds them.
EXTRA_READABLE = frozenset({"__name__", "__debug__", "display"})
# IPython's history and shell: never readable at module level, even if a cell binds one.
IPYTHON_NAMES = frozenset({
    "In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii", "_", "__", "___", "get_ipython",
    "exit", "quit", "_sh", "__IPYTHON__",
})
IPYTHON_NAME_PATTERN = re.compile(r"_i?\d+\Z")

# Protocol methods a student class may define. Anything else with dunders is refused: hooks
# such as __getattr__, __del__, __init_subclass__ or numpy's __array_ufunc__ run inside the
# harness's own checks.
ALLOWED_DUNDER_METHODS = frozenset({
    "__init__", "__post_init__", "__repr__", "__str__", "__call__", "__len__", "__iter__",
    "__next__", "__getitem__", "__setitem__", "__delitem__", "__contains__", "__reversed__",
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__bool__",
    "__float__", "__int__", "__index__", "__complex__", "__round__", "__enter__", "__exit__",
    "__neg__", "__pos__", "__abs__", "__invert__",
    *(f"__{prefix}{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow",
                                     "matmul", "and", "or", "xor", "lshift", "rshift", "divmod")
      for prefix in ("", "r", "i") if not (op == "divmod" and prefix == "i")),
})
ALLOWED_CLASS_DUNDER_NAMES = ALLOWED_DUNDER_METHODS | {"__slots__"}
READABLE_DUNDER_ATTRIBUTES = frozenset({"__name__"})

# Attribute names refused on any object, and why (the reason becomes the message).
_FILES = N_("reads or writes files")
_GLOBAL_STATE = N_("changes global state the tests share (numpy's warnings and printing, registries)")
_REACH = N_("can reach frames, code, globals or the kernel that runs the tests")
_BY_NAME = N_("can read any attribute its template names (use an f-string instead)")
DENIED_ATTRIBUTES: dict[str, str] = {
    **dict.fromkeys(("format", "format_map"), _BY_NAME),
    **dict.fromkeys(("load", "loads", "save", "savez", "savez_compressed", "savetxt", "loadtxt",
                     "genfromtxt", "fromfile", "tofile", "fromregex", "memmap", "DataSource",
                     "imread", "imsave", "dump", "dumps", "open_memmap", "system", "popen"), _FILES),
    **dict.fromkeys(("seterr", "seterrcall", "errstate", "set_printoptions", "printoptions",
                     "setbufsize", "register", "switch_backend"), _GLOBAL_STATE),
    **dict.fromkeys(("ctypes", "ctypeslib", "as_strided", "cffi", "capsule", "f_globals", "f_locals",
                     "f_builtins", "f_back", "f_code", "gi_frame", "gi_code", "gi_yieldfrom",
                     "cr_frame", "cr_code", "cr_await", "cr_origin", "ag_frame", "ag_code",
                     "ag_await", "tb_frame", "tb_next", "func_globals", "func_code", "mro",
                     "get_type_hints", "ForwardRef", "singledispatch", "singledispatchmethod",
                     "update_wrapper", "source", "comm", "kernel", "shell", "container",
                     "status_printer", "trait_values", "traits", "class_traits", "class_own_traits",
                     "trait_metadata", "add_traits", "set_trait", "user_ns", "user_global_ns",
                     "get_ipython", "make_dataclass", "new_class", "evaluate_forward_ref", "fp",
                     "session", "pub_thread", "socket", "parent_header", "iopub_socket"), _REACH),
}
# Private attributes refused even when the student's code defines an attribute of that name.
DENIED_PRIVATE_ATTRIBUTES = frozenset({"_trait_values", "_trait_notifiers", "_instances", "_lock"})

# Base classes beyond the student's own, the setup's, object and exceptions. A value-type or
# numpy subclass returned by an exercise would bring its own __eq__ or __array_ufunc__ into the
# checks, so int, float, tuple, np.ndarray, IntEnum and NamedTuple are refused.
ALLOWED_MODULE_BASES = frozenset({"abc.ABC", "enum.Enum", "typing.Generic", "typing.Protocol"})

MAGIC = "magic or shell escape (%... / !...)"

# One sentence per kind of violation: what is not allowed, and what to do instead.
MESSAGES: dict[str, str] = {
    "import": N_("Graded code may import only {detail}; use numpy, math or what the setup cell imports."),
    "import_reference": N_("This chapter's exercises must be your own code, so the course library's "
                           "module {detail} cannot be imported here; write the function yourself."),
    "star_import": N_("`from ... import *` is not allowed; import the names you need one by one."),
    "rebind": N_("`{detail}` is used by the setup or the test cells, so your code may not assign, define "
               "or delete it at the top level; choose another name."),
    "dunder_name": N_("Names like `{detail}` belong to Python and the kernel; your code may not "
                      "assign them."),
    "read": N_("`{detail}` belongs to the grader, not to your code; use numpy and your own functions "
               "instead."),
    "test_name": N_("`{detail}` is also a name the test cells assign, so when a test calls your code it "
                  "would see the test's value; pass it as an argument or rename it."),
    "ipython": N_("`{detail}` is the notebook's history or shell, which graded code may not use."),
    "builtin": N_("The builtin `{detail}` is not allowed in graded code; write the code directly instead."),
    "dunder": N_("The attribute `{detail}` reaches Python's internals, which graded code may not use."),
    "private": N_("The private attribute `{detail}` belongs to another library; use its public API, or "
                "name your own attributes so that your class defines them."),
    "denied": N_("`.{detail}` is not allowed in graded code: it {reason}."),
    "dunder_method": N_("Your class may define ordinary methods and operators such as __add__ or __repr__, "
                        "but not `{detail}`, which changes how Python or numpy treat the object."),
    "module_store": N_("`{detail}` changes a module or a name the tests use; compute with your own "
                       "variables instead."),
    "module_value": N_("A module can only be used as `{detail}.something`, not stored or passed around; "
                       "call the function you need directly."),
    "module_chain": N_("`{detail}` leads to a module graded code may not use."),
    "base": N_("A class may not inherit from `{detail}`; define a plain class (or subclass your own)."),
    "class_keyword": N_("A class statement may not pass `{detail}`; define a plain class."),
    "type_call": N_("Creating a class with type(name, bases, namespace) is not allowed; use a class "
                    "statement."),
    "wraps": N_("functools.wraps may only be used as a decorator with the wrapped function as its one "
                "argument."),
    "magic": N_("IPython magics (%...), shell escapes (!...) and ? help are not allowed in graded cells; "
              "write plain Python."),
}


@dataclass(frozen=True)
class Violation:
    """One construct the policy refuses, where it is, and what to do instead."""

    cell: str  # grade_id, or f"cell {index}" for cells without metadata
    line: int  # 1-based line in the cell
    construct: str  # short, e.g. "import os", "attribute __class__", "call to exec"
    message: str  # one sentence a student understands
