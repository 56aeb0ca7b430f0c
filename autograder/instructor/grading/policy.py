"""What graded code may do, decided from its source before it runs.

Student code runs in the same IPython kernel as the test cells, so a grade is only as honest as
the test harness is unreachable. This module reads every cell a student can edit or add and
returns the constructs that could reach, replace or fool the harness: imports outside an
allowlist, rebinding a name the tests use, reading the harness, dunder and frame attributes,
patching modules, ``exec``-like builtins, magics and shell escapes.

Why a plain ``ast`` walk and not RestrictedPython: RestrictedPython compiles code into a guarded
form that only means something when it runs inside its restricted namespace (``_getattr_``,
``_write_``, ...). Our kernel is a normal IPython kernel running the student's unmodified source,
so what we need is a verdict on that source, with the line and construct to report to the
student and the instructor. An ``ast`` walk gives exactly that, with rule tables we can read.

The policy is one layer. It cannot follow values: a provided class passed through a function
parameter and patched there, or an object the harness hands to student code, is out of its
reach; the sandbox and a verdict computed out of the student's reach cover the rest.

Rules (each violation names a line and a construct):

1. Imports only from ``allowed_imports``: pure standard-library modules, numpy (and its
   ``random`` and ``linalg``), ``matplotlib.pyplot``, what the chapter's solution cells import,
   and ``autograder.reference.<m>`` for modules of earlier chapters (``CHAPTER_OF``). A name
   the setup cell imports from another module (``tqdm``, ``load_digits``) may be imported again
   under its own name. Never ``autograder`` itself, its other rooms, or torch.
2. No module-level binding of a protected name: builtins, the setup cell's names, and the names
   test cells read before binding them, minus the names solution cells define. Re-importing a
   setup name from the same place (``import numpy as np``) is allowed. No dunder names at
   module level (``__name__`` decides a function's ``__module__``).
3. A name student code reads must be its own, a solution or demo cell's, one the setup provides,
   or an allowed builtin: never the harness, a name only test cells bind, or IPython's history.
4. No ``exec``, ``eval``, ``compile``, ``getattr``/``setattr``/``delattr``, ``globals``/``vars``/
   ``locals``, ``open``, ``__import__``, ``input``, ``breakpoint``, ``help``, ``exit``/``quit``.
5. No attribute starting with ``_``: dunders (except reading ``__name__`` and calling
   ``super().<protocol method>``) and privates the student's own code did not define. Methods a
   class defines must be ordinary or known protocol dunders (``__add__``, ``__repr__``, ...).
6. No assignment to an attribute or item of a module, a setup name or a harness name; a module
   is never a value (only the root of an attribute chain); chains on modules are resolved for
   real and may reach only allowed modules (``plt.sys`` is not). Classes may not subclass numpy
   or built-in value types (their ``__eq__`` would be trusted by checks).
7. Attribute names that read files, change numpy's global state, or reach frames, code, globals
   or the kernel are denied on any object (``format``, ``f_globals``, ``seterr``, ``comm``, ...).
8. IPython syntax: magics, shell escapes and ``?`` help are refused. A genuine SyntaxError is not
   a violation: the kernel reports it as usual.

Decided where the issue is silent (strict, but honest code passes):

- The instructor's demo cells (code cells of the source without nbgrader metadata) use torch and
  the harness; they are trusted when unchanged (their source hash is in the facts). Changed, they
  are checked like any other cell. What they import from modules students may not import
  (warnings, sklearn) is not readable by student code.
- A code cell whose metadata claims locked/test is skipped only if the source has that grade_id,
  once; anything else is checked whatever its metadata says.
- A function, lambda or generator may not read a global name a test cell assigns (`expected`,
  `reference_mlp_forward`): it runs when a test calls it, and by then the test's value is there.
  Top-level code may read such a name if the student's cells bind it themselves.
- Private attributes (`self._backward`) are fine when the student's code defines that name.
  Reading `__name__` (`type(self).__name__`) is fine; `__class__` is not (use `type(x)`).
- `hasattr`, `dir`, `memoryview`, `type(x)` and `format(value, spec)` are allowed; 3-argument
  `type()` is not. `"{:.3f}".format(x)` on a literal whose fields read no attribute or item is
  allowed; `.format` on anything else is not.
- `@dataclass`, `enum.Enum`, `abc.ABC`, `typing.Generic`/`Protocol` and exceptions are allowed
  bases; `metaclass=` only `ABCMeta`. `functools.wraps(f)` only with one argument (its
  `assigned=` copies any attribute). `np.errstate` and `np.set_printoptions` are refused: they
  change what the tests' warning checks and messages see.
- Item assignment rooted at a module or setup name is refused too (`plt.rcParams[...] = ...`:
  the backend key imports a module by name).
- A one-line cell Python cannot parse whose first word is an IPython magic or alias (`run x.py`,
  `ls -l`) is a magic (automagic). `await` at the top level is parsed, as IPython runs it.
- String annotations are not evaluated by anything student code can call (`get_type_hints`,
  `ForwardRef` and `singledispatch` are denied), so they are not checked.
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import importlib
import re
import string
import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import nbformat

from autograder.reference import CHAPTER_OF

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
_FILES = "reads or writes files"
_GLOBAL_STATE = "changes global state the tests share (numpy's warnings and printing, registries)"
_REACH = "can reach frames, code, globals or the kernel that runs the tests"
_BY_NAME = "can read any attribute its template names (use an f-string instead)"
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
    "import": "Graded code may import only {detail}; use numpy, math or what the setup cell imports.",
    "import_reference": "This chapter's exercises must be your own code, so the course library's "
                        "module {detail} cannot be imported here; write the function yourself.",
    "star_import": "`from ... import *` is not allowed; import the names you need one by one.",
    "rebind": "`{detail}` is used by the setup or the test cells, so your code may not assign, define "
              "or delete it at the top level; choose another name.",
    "dunder_name": "Names like `{detail}` belong to Python and the kernel; your code may not assign them.",
    "read": "`{detail}` belongs to the grader, not to your code; use numpy and your own functions instead.",
    "test_name": "`{detail}` is also a name the test cells assign, so when a test calls your code it "
                 "would see the test's value; pass it as an argument or rename it.",
    "ipython": "`{detail}` is the notebook's history or shell, which graded code may not use.",
    "builtin": "The builtin `{detail}` is not allowed in graded code; write the code directly instead.",
    "dunder": "The attribute `{detail}` reaches Python's internals, which graded code may not use.",
    "private": "The private attribute `{detail}` belongs to another library; use its public API, or "
               "name your own attributes so that your class defines them.",
    "denied": "`.{detail}` is not allowed in graded code: it {reason}.",
    "dunder_method": "Your class may define ordinary methods and operators such as __add__ or __repr__, "
                     "but not `{detail}`, which changes how Python or numpy treat the object.",
    "module_store": "`{detail}` changes a module or a name the tests use; compute with your own "
                    "variables instead.",
    "module_value": "A module can only be used as `{detail}.something`, not stored or passed around; "
                    "call the function you need directly.",
    "module_chain": "`{detail}` leads to a module graded code may not use.",
    "base": "A class may not inherit from `{detail}`; define a plain class (or subclass your own).",
    "class_keyword": "A class statement may not pass `{detail}`; define a plain class.",
    "type_call": "Creating a class with type(name, bases, namespace) is not allowed; use a class statement.",
    "wraps": "functools.wraps may only be used as a decorator with the wrapped function as its one argument.",
    "magic": "IPython magics (%...), shell escapes (!...) and ? help are not allowed in graded cells; "
             "write plain Python.",
}


@dataclass(frozen=True)
class Violation:
    """One construct the policy refuses, where it is, and what to do instead."""

    cell: str  # grade_id, or f"cell {index}" for cells without metadata
    line: int  # 1-based line in the cell
    construct: str  # short, e.g. "import os", "attribute __class__", "call to exec"
    message: str  # one sentence a student understands


@dataclass(frozen=True)
class PolicyFacts:
    """What the policy needs to know about one chapter, read from its source notebook."""

    chapter: int
    harness_names: frozenset[str]  # setup names student code may neither bind nor read
    provided_names: frozenset[str]  # setup names student code may read (np, plt, linear_forward)
    exercise_names: frozenset[str]  # names the solution cells define (sigmoid, Value, ...)
    allowed_imports: frozenset[str]  # dotted module names student code may import
    protected_names: frozenset[str] = frozenset()  # may not be bound at module level
    test_only_names: frozenset[str] = frozenset()  # bound only by test cells: never readable
    test_bound_names: frozenset[str] = frozenset()  # bound by test cells: never read by a function
    demo_names: frozenset[str] = frozenset()  # bound by the source's cells without metadata
    trusted_cells: frozenset[str] = frozenset()  # sha256 of those cells' sources
    locked_ids: frozenset[str] = frozenset()  # grade_ids of locked and test cells (nbgrader restores them)
    setup_origins: Mapping[str, str] = field(default_factory=dict, hash=False)  # name -> "mod" or "mod:attr"
    module_aliases: Mapping[str, str] = field(default_factory=dict, hash=False)  # setup name -> module

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: sorted lists and dicts."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, frozenset):
                value = sorted(value)
            elif isinstance(value, Mapping):
                value = dict(sorted(value.items()))
            out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyFacts:
        """The inverse of to_dict."""
        kwargs: dict[str, Any] = {}
        for name, spec in cls.__dataclass_fields__.items():
            if name not in data:
                continue
            value = data[name]
            if "frozenset" in str(spec.type):
                value = frozenset(value)
            elif "Mapping" in str(spec.type):
                value = dict(value)
            kwargs[name] = value
        return cls(**kwargs)


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------

def _nbgrader(cell: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return cell.get("metadata", {}).get("nbgrader")


def editable(cell: Mapping[str, Any]) -> bool:
    """Solution code cells, code cells without nbgrader metadata, and unlocked non-test cells."""
    if cell.get("cell_type") != "code":
        return False
    meta = _nbgrader(cell)
    if meta is None or meta.get("solution"):
        return True
    return not meta.get("grade") and not meta.get("locked")


def _is_test(cell: Mapping[str, Any]) -> bool:
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta) and bool(meta.get("grade")) \
        and not meta.get("solution")


def _is_locked(cell: Mapping[str, Any]) -> bool:
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta) and bool(meta.get("locked")) \
        and not meta.get("solution") and not meta.get("grade")


def _cell_label(cell: Mapping[str, Any], index: int) -> str:
    meta = _nbgrader(cell)
    return meta["grade_id"] if meta and meta.get("grade_id") else f"cell {index}"


def _source_hash(source: str) -> str:
    text = "\n".join(line.rstrip() for line in source.strip().splitlines())
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Scopes: which names a piece of code binds, and in which scope
# ---------------------------------------------------------------------------------------------

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _scope_bindings(scope: ast.AST) -> tuple[set[str], set[str]]:
    """(names bound directly in this scope, names it declares global)."""
    bound: set[str] = set()
    declared_global: set[str] = set()
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = scope.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                bound.add(arg.arg)
        body: list[ast.AST] = scope.body if isinstance(scope.body, list) else [scope.body]
    elif isinstance(scope, _COMPREHENSIONS):
        body = []
        for generator in scope.generators:
            bound |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
    else:
        body = list(getattr(scope, "body", []))

    def visit(node: ast.AST, in_comprehension: bool) -> None:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            if not in_comprehension:
                bound.add(node.id)
            return
        if isinstance(node, ast.NamedExpr):  # binds in the enclosing non-comprehension scope
            bound.add(node.target.id)
            visit(node.value, in_comprehension)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            for part in [*node.decorator_list, *getattr(node, "bases", []),
                         *getattr(getattr(node, "args", None), "defaults", [])]:
                visit(part, in_comprehension)
            return
        if isinstance(node, ast.Lambda):
            for part in node.args.defaults:
                visit(part, in_comprehension)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    bound.add(alias.asname or alias.name.split(".")[0])
            return
        if isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        if isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
        for child in ast.iter_child_nodes(node):
            visit(child, in_comprehension or isinstance(node, _COMPREHENSIONS))

    if isinstance(scope, _COMPREHENSIONS):
        for child in ast.iter_child_nodes(scope):
            visit(child, True)
    else:
        for statement in body:
            visit(statement, False)
    return bound - declared_global, declared_global


def _module_bindings(tree: ast.AST) -> set[str]:
    """Names a cell binds at module level, including names functions declare global."""
    bound, _ = _scope_bindings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            bound.update(node.names)
    return bound


def _ordered_free_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(names a test cell reads before binding them, names it binds), in execution order.

    Compound statements are followed into their blocks; names read inside functions, lambdas and
    comprehensions count as read where they are defined, unless bound locally there.
    """
    bound: set[str] = set()
    free: set[str] = set()

    def names_in(target: ast.AST | None) -> set[str]:
        return set() if target is None else {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}

    def read(node: ast.AST | None) -> None:
        if node is not None:
            free.update(_reads(node) - bound)

    def block(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, ast.With | ast.AsyncWith):
                for item in statement.items:
                    read(item.context_expr)
                    bound.update(names_in(item.optional_vars))
                block(statement.body)
            elif isinstance(statement, ast.For | ast.AsyncFor):
                read(statement.iter)
                bound.update(names_in(statement.target))
                block(statement.body)
                block(statement.orelse)
            elif isinstance(statement, ast.If | ast.While):
                read(statement.test)
                block(statement.body)
                block(statement.orelse)
            elif isinstance(statement, ast.Try | ast.TryStar):
                block(statement.body)
                for handler in statement.handlers:
                    read(handler.type)
                    if handler.name:
                        bound.add(handler.name)
                    block(handler.body)
                block(statement.orelse)
                block(statement.finalbody)
            else:
                read(statement)
                bound.update(_module_bindings(ast.Module(body=[statement], type_ignores=[])))

    block(tree.body)
    return free, bound


def _reads(node: ast.AST) -> set[str]:
    """Global names a statement or expression reads (names bound in an inner scope are not)."""
    reads: set[str] = set()

    def visit(current: ast.AST, local: frozenset[str]) -> None:
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Load):
            if current.id not in local:
                reads.add(current.id)
            return
        if isinstance(current, _SCOPES) and not isinstance(current, ast.ClassDef):
            inner, _ = _scope_bindings(current)
            local = local | inner
        for child in ast.iter_child_nodes(current):
            visit(child, local)

    visit(node, frozenset())
    return reads


# ---------------------------------------------------------------------------------------------
# Modules, resolved for real
# ---------------------------------------------------------------------------------------------

def _import(name: str, trusted: Iterable[str]) -> types.ModuleType | None:
    """A module already imported, or one of the trusted names imported now.

    Never import a name student code chose: a module's import runs its code, here, outside the
    sandbox (and the working folder may hold the student's files).
    """
    if name in sys.modules:
        return sys.modules[name]
    if name not in trusted or name.split(".")[0] in HARNESS_PACKAGES - {"autograder"}:
        return None
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - an unimportable module is resolved no further
        return None


def _is_module_path(dotted: str, trusted: Iterable[str]) -> bool:
    """Whether `a.b` names a module (so `from a import b` binds a module)."""
    parent, _, attr = dotted.rpartition(".")
    if not parent:
        return True
    module = _import(parent, trusted)
    value = getattr(module, attr, None) if module is not None else None
    return isinstance(value, types.ModuleType)


# ---------------------------------------------------------------------------------------------
# Facts from the source notebook
# ---------------------------------------------------------------------------------------------

def _ast_parse(source: str) -> ast.Module:
    """Parse as IPython compiles a cell: `await` is allowed at the top level (autoawait)."""
    return compile(source, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                   dont_inherit=True)


def _parse(source: str) -> ast.Module | None:
    try:
        return _ast_parse(source)
    except SyntaxError:
        try:
            return _ast_parse(_ipython_transform(source))
        except SyntaxError:
            return None


def _import_origins(tree: ast.Module) -> dict[str, str]:
    """Setup-cell name -> where it comes from: "module" for a module, "module:attr" otherwise."""
    origins: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    origins[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    origins[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                trusted = {node.module} if node.module.split(".")[0] not in HARNESS_PACKAGES - {
                    "autograder"} else set()
                origins[alias.asname or alias.name] = (
                    dotted if _is_module_path(dotted, trusted) else f"{node.module}:{alias.name}")
        else:
            for name in _module_bindings(ast.Module(body=[node], type_ignores=[])):
                origins[name] = ":assigned"
    return origins


def _is_harness_origin(origin: str, chapter: int) -> bool:
    module = origin.split(":")[0]
    if origin == ":assigned":  # a helper a locked cell defines for students (init_params)
        return False
    if module == REFERENCE_PACKAGE or module.startswith(REFERENCE_PACKAGE + "."):
        reference_module = module[len(REFERENCE_PACKAGE) + 1:].split(".")[0]
        return CHAPTER_OF.get(reference_module, chapter) >= chapter
    return module.split(".")[0] in HARNESS_PACKAGES


def facts_from_source(nb: nbformat.NotebookNode, chapter: int) -> PolicyFacts:
    """From the instructor's source notebook (solutions/...)."""
    origins: dict[str, str] = {}
    test_reads: set[str] = set()
    test_binds: set[str] = set()
    exercise: set[str] = set()
    demo: set[str] = set()
    trusted: set[str] = set()
    solution_imports: set[str] = set()
    demo_imports: dict[str, str] = {}
    locked_ids: set[str] = set()
    locked_defs: set[str] = set()
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        tree = _parse(cell.source)
        if tree is None:
            continue
        if _is_locked(cell) or _is_test(cell):
            locked_ids.add(_nbgrader(cell).get("grade_id", ""))
        if _is_locked(cell):
            origins.update(_import_origins(tree))
            locked_defs |= {node.name for node in tree.body
                            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
        elif _is_test(cell):
            free, bound = _ordered_free_names(tree)
            test_reads |= free
            test_binds |= bound
        elif _nbgrader(cell) is None:
            demo |= _module_bindings(tree)
            demo_imports.update(_import_origins(ast.Module(
                body=[node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)],
                type_ignores=[])))
            trusted.add(_source_hash(cell.source))
        else:
            exercise |= _module_bindings(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    solution_imports.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    solution_imports.add(node.module)
    harness = {name for name, origin in origins.items() if _is_harness_origin(origin, chapter)}
    provided = set(origins) - harness
    module_aliases = {name: origin for name, origin in origins.items()
                      if ":" not in origin}
    earlier_reference = {f"{REFERENCE_PACKAGE}.{module}" for module, owner in CHAPTER_OF.items()
                         if owner < chapter}
    allowed_imports = STDLIB_IMPORTS | NUMPY_IMPORTS | earlier_reference | {
        module for module in solution_imports if module.split(".")[0] not in HARNESS_PACKAGES}
    allowed_imports |= {origin for name, origin in module_aliases.items()
                        if name in provided and origin.split(".")[0] in STDLIB_IMPORTS}
    # what a demo cell imports from elsewhere (warnings, sklearn) is the instructor's, not the student's
    for name, origin in demo_imports.items():
        module, _, attr = origin.partition(":")
        if module not in allowed_imports and not (attr and origins.get(name) == origin):
            harness.add(name)
            demo.discard(name)
    builtin_names = {name for name in dir(builtins)}
    # Data a locked demo cell assigns (rng, X, signal) is protected only where a test reads it;
    # what the setup imports and the helpers locked cells define are protected always.
    data = {name for name, origin in origins.items() if origin == ":assigned"} - locked_defs
    protected = (builtin_names | (set(origins) - data) | test_reads) - exercise
    test_only = test_binds - exercise - demo - set(origins)
    return PolicyFacts(
        chapter=chapter,
        harness_names=frozenset(harness),
        provided_names=frozenset(provided),
        exercise_names=frozenset(exercise),
        allowed_imports=frozenset(allowed_imports),
        protected_names=frozenset(protected),
        test_only_names=frozenset(test_only),
        test_bound_names=frozenset(test_binds - exercise),
        demo_names=frozenset(demo),
        trusted_cells=frozenset(trusted),
        locked_ids=frozenset(locked_ids - {""}),
        setup_origins=dict(origins),
        module_aliases=module_aliases,
    )


# ---------------------------------------------------------------------------------------------
# IPython syntax
# ---------------------------------------------------------------------------------------------

def _ipython_transform(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _leading_blank_lines(source: str) -> int:
    count = 0
    for line in source.splitlines():
        if line.strip():
            break
        count += 1
    return count


def _parse_as_kernel(source: str) -> tuple[ast.Module, int, bool] | None:
    """(tree, line offset, whether IPython rewrote the cell), or None for a genuine SyntaxError.

    The kernel runs IPython's transform of every cell; where it changes what Python sees, the
    transformed code is what we check.
    """
    transformed = _ipython_transform(source)
    try:
        original = _ast_parse(source)
    except SyntaxError:
        original = None
    try:
        tree = _ast_parse(transformed)
    except SyntaxError:
        return (_drop_dead_code(original), 0, False) if original is not None else None
    if original is not None and ast.dump(original) == ast.dump(tree):
        return _drop_dead_code(original), 0, False
    return _drop_dead_code(tree), _leading_blank_lines(source), True


def _drop_dead_code(tree: ast.Module) -> ast.Module:
    """Remove statements after a raise/return/break/continue in the same block: they never run.

    A released stub ends `raise NotImplementedError()` then `return out, cache`; its names are
    bound once the student writes the body.
    """
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for index, statement in enumerate(block):
                if isinstance(statement, ast.Raise | ast.Return | ast.Break | ast.Continue):
                    del block[index + 1:]
                    break
    return tree


@functools.cache
def _magic_names() -> frozenset[str]:
    """IPython's line magics and default aliases, which a kernel runs without the % (automagic)."""
    from IPython.core import magics
    from IPython.core.alias import default_aliases

    names = {alias for alias, _ in default_aliases()}
    classes = [getattr(magics, name) for name in dir(magics)]
    try:
        from ipykernel.zmqshell import KernelMagics

        classes.append(KernelMagics)
    except ImportError:
        pass
    for cls in classes:
        table = getattr(cls, "magics", None)
        if isinstance(cls, type) and isinstance(table, dict):
            names.update(table.get("line", {}))
    return frozenset(names)


def _automagic(source: str) -> bool:
    """A one-line cell Python cannot parse, which IPython would run as a magic (`run x.py`)."""
    lines = [line for line in source.splitlines() if line.strip()]
    match = re.match(r"\s*([A-Za-z_]\w*)", lines[0]) if len(lines) == 1 else None
    return match is not None and match.group(1) in _magic_names()


# ---------------------------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------------------------

@dataclass
class _Scope:
    node: ast.AST
    bound: set[str]
    declared_global: set[str]

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)


class _PolicyVisitor(ast.NodeVisitor):
    """Walks one cell, in scope, and records violations."""

    def __init__(self, facts: PolicyFacts, cell: str, own: _Own, line_offset: int,
                 rewritten: bool) -> None:
        self.facts = facts
        self.cell = cell
        self.own_names = own.names
        self.own_private = own.private
        self.own_classes = own.classes
        self.imported = own.imported
        self.modules = {**facts.module_aliases, **own.modules}
        self.trusted = _trusted_modules(facts)
        self.chain_modules = facts.allowed_imports | {
            module for name, module in facts.module_aliases.items() if name in facts.provided_names}
        self.line_offset = line_offset
        self.rewritten = rewritten
        self.scopes: list[_Scope] = []
        self.parents: dict[int, ast.AST] = {}
        self.violations: list[Violation] = []
        self.readable = (own.names | facts.exercise_names | facts.demo_names | facts.provided_names
                         | EXTRA_READABLE | _allowed_builtins())

    # -- reporting -------------------------------------------------------------------------
    def report(self, node: ast.AST, construct: str, kind: str, detail: str = "", **extra: str) -> None:
        line = getattr(node, "lineno", 1) + self.line_offset
        message = MESSAGES[kind].format(detail=detail or construct, **extra)
        self.violations.append(Violation(self.cell, line, construct, message))

    # -- scopes ----------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> list[Violation]:
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[id(child)] = node
        bound, declared = _scope_bindings(tree)
        self.scopes.append(_Scope(tree, bound, declared))
        self.generic_visit(tree)
        return self.violations

    def in_scope(self, node: ast.AST) -> None:
        bound, declared = _scope_bindings(node)
        self.scopes.append(_Scope(node, bound, declared))

    def is_local(self, name: str) -> bool:
        """Whether a name read here resolves to a function, comprehension or class-body local."""
        innermost = True
        for scope in reversed(self.scopes[1:]):
            if name in scope.declared_global:
                return False
            if name in scope.bound and (not scope.is_class or innermost):
                return True
            innermost = False
        return False

    def binds_module_level(self, name: str) -> bool:
        if len(self.scopes) == 1:
            return True
        scope = self.scopes[-1]
        return name in scope.declared_global

    def in_class_body(self) -> bool:
        return len(self.scopes) > 1 and self.scopes[-1].is_class

    def module_of(self, node: ast.AST) -> str | None:
        """The dotted module an expression names (np, np.random), or None."""
        if isinstance(node, ast.Name):
            if node.id in self.modules and not self.is_local(node.id):
                return self.modules[node.id]
            return None
        if isinstance(node, ast.Attribute):
            parent = self.module_of(node.value)
            if parent is None:
                return None
            module = _import(parent, self.trusted)
            value = getattr(module, node.attr, None) if module is not None else None
            return value.__name__ if isinstance(value, types.ModuleType) else None
        return None

    # -- scope nodes -----------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit_arguments_outside(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self.check_binding(node, node.name)
        if self.in_class_body() and _is_dunder(node.name) and node.name not in ALLOWED_DUNDER_METHODS:
            self.report(node, f"method {node.name}", "dunder_method", node.name)
        self.in_scope(node)
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_arguments_outside(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
            self.visit(default)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit_arguments_outside(node.args)
        self.in_scope(node)
        self.visit(node.body)
        self.scopes.pop()

    def visit_comprehension_scope(self, node: ast.AST) -> None:
        generators = node.generators
        self.visit(generators[0].iter)  # evaluated in the enclosing scope
        self.in_scope(node)
        for index, generator in enumerate(generators):
            if index:
                self.visit(generator.iter)
            self.visit(generator.target)
            for condition in generator.ifs:
                self.visit(condition)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                self.visit(getattr(node, part))
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_comprehension_scope

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for base in node.bases:
            self.visit(base)
            self.check_base(base)
        for keyword in node.keywords:
            self.visit(keyword.value)
            if not (keyword.arg == "metaclass" and _dotted(keyword.value) in {"ABCMeta", "abc.ABCMeta"}):
                self.report(keyword, f"class keyword {keyword.arg}", "class_keyword", str(keyword.arg))
        self.check_binding(node, node.name)
        self.in_scope(node)
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    def check_base(self, base: ast.expr) -> None:
        """Own classes, the setup's classes, object, exceptions and a few abstract bases only."""
        target = base.value if isinstance(base, ast.Subscript) else base  # Generic[T]
        if isinstance(target, ast.Name) and not self.is_local(target.id):
            name = target.id
            builtin = getattr(builtins, name, None)
            origin = self.imported.get(name) or self.facts.setup_origins.get(name, "")
            allowed = (
                name in self.own_classes
                or name in self.facts.exercise_names  # a class a solution cell defines (SGD)
                or name == "object"
                or (isinstance(builtin, type) and issubclass(builtin, BaseException))
                or origin.replace(":", ".") in ALLOWED_MODULE_BASES
                or (name in self.facts.provided_names and origin.startswith(REFERENCE_PACKAGE + "."))
            )
            if not allowed:
                self.report(base, f"base class {name}", "base", name)
            return
        if isinstance(target, ast.Attribute):
            module = self.module_of(target.value)
            if module is not None and f"{module}.{target.attr}" in ALLOWED_MODULE_BASES:
                return
        dotted = _dotted(target)
        self.report(base, f"base class {dotted or ast.unparse(base)}", "base", dotted or ast.unparse(base))

    # -- names -----------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if isinstance(node.ctx, ast.Load):
            self.check_read(node, name)
        else:
            self.check_binding(node, name)

    def check_read(self, node: ast.Name, name: str) -> None:
        if self.is_local(name):
            return
        parent = self.parents.get(id(node))
        is_call = isinstance(parent, ast.Call) and parent.func is node
        if name in self.modules:
            if not (isinstance(parent, ast.Attribute) and parent.value is node) and not is_call:
                self.report(node, f"module {name} used as a value", "module_value", name)
        if name == "get_ipython" and self.rewritten:
            self.report(node, MAGIC, "magic")
        elif name in IPYTHON_NAMES or IPYTHON_NAME_PATTERN.match(name):
            self.report(node, f"reads {name}", "ipython", name)
        elif name in FORBIDDEN_BUILTINS:
            construct = f"call to {name}" if is_call else f"builtin {name}"
            self.report(node, construct, "builtin", name)
        elif name in self.facts.test_bound_names and self.deferred():
            self.report(node, f"reads {name}", "test_name", name)
        elif name in self.facts.harness_names or name in self.facts.test_only_names \
                or name not in self.readable:
            if not (name in self.own_names and name not in self.facts.harness_names):
                self.report(node, f"reads {name}", "read", name)
        elif _is_dunder(name) and name not in EXTRA_READABLE:
            self.report(node, f"reads {name}", "read", name)

    def deferred(self) -> bool:
        """Whether code here runs later (when a test calls it), not when the cell runs."""
        return any(isinstance(scope.node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
                              | ast.GeneratorExp) for scope in self.scopes[1:])

    def check_binding(self, node: ast.AST, name: str, origin: str | None = None) -> None:
        if self.in_class_body():
            if _is_dunder(name) and name not in ALLOWED_CLASS_DUNDER_NAMES \
                    and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.report(node, f"class attribute {name}", "dunder_method", name)
            return
        if not self.binds_module_level(name):
            return
        if _is_dunder(name):
            self.report(node, f"rebinds {name}", "dunder_name", name)
            return
        protected = name in self.facts.protected_names or name in self.facts.harness_names
        if protected and name not in self.facts.exercise_names:
            if origin is not None and self.facts.setup_origins.get(name) == origin:
                return  # `import numpy as np` again: the same object
            self.report(node, f"rebinds {name}", "rebind", name)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        scopes = self.scopes[1:]
        while scopes and isinstance(scopes[-1].node, _COMPREHENSIONS):
            scopes.pop()
        # `(x := ...)` binds in the nearest scope that is not a comprehension
        saved, self.scopes = self.scopes, self.scopes[:1] + scopes
        self.check_binding(node.target, node.target.id)
        self.scopes = saved

    def visit_MatchAs(self, node: ast.MatchAs | ast.MatchStar) -> None:
        if node.name:
            self.check_binding(node, node.name)
        self.generic_visit(node)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.check_binding(node, node.rest)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.check_binding(node, node.name)
        self.generic_visit(node)

    # -- imports ---------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_module_import(node, alias.name, f"import {alias.name}")
            if alias.asname:
                self.check_binding(node, alias.asname, alias.name)
            else:
                top = alias.name.split(".")[0]
                if top != alias.name and top not in self.facts.allowed_imports:
                    self.report(node, f"import {alias.name}", "import", self.allowed_text())
                self.check_binding(node, top, top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        if node.level:
            self.report(node, f"from {module} import", "import", self.allowed_text())
            return
        for alias in node.names:
            if alias.name == "*":
                self.report(node, f"from {module} import *", "star_import")
                continue
            construct = f"from {module} import {alias.name}"
            bound = alias.asname or alias.name
            dotted = f"{module}.{alias.name}"
            origin = dotted if _is_module_path(dotted, self.trusted) else f"{module}:{alias.name}"
            setup_same = any(o == origin for n, o in self.facts.setup_origins.items()
                             if n in self.facts.provided_names)
            if alias.name.startswith("_"):
                self.report(node, construct, "private", alias.name)
            elif alias.name in DENIED_ATTRIBUTES:
                self.report(node, construct, "denied", alias.name, reason=DENIED_ATTRIBUTES[alias.name])
            elif ":" not in origin:  # the name is a module: it must be allowed itself
                self.check_module_import(node, dotted, construct)
            elif not setup_same:
                self.check_module_import(node, module, construct)
            self.check_binding(node, bound, origin)

    def check_module_import(self, node: ast.AST, module: str, construct: str) -> None:
        if module in self.facts.allowed_imports:
            return
        if module == REFERENCE_PACKAGE or module.startswith(REFERENCE_PACKAGE + "."):
            self.report(node, construct, "import_reference", module)
        else:
            self.report(node, construct, "import", self.allowed_text())

    def allowed_text(self) -> str:
        return ", ".join(sorted(self.facts.allowed_imports))

    # -- attributes ------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        parent = self.parents.get(id(node))
        if _is_dunder(attr):
            allowed = (attr in READABLE_DUNDER_ATTRIBUTES and isinstance(node.ctx, ast.Load)) or (
                attr in ALLOWED_DUNDER_METHODS and isinstance(node.value, ast.Call)
                and _dotted(node.value.func) == "super" and isinstance(node.ctx, ast.Load))
            if not allowed:
                self.report(node, f"attribute {attr}", "dunder", attr)
        elif attr.startswith("_"):
            root = _root_name(node)
            foreign_root = root is not None and not self.is_local(root) and (
                root in self.modules or root in self.facts.setup_origins)
            if attr in DENIED_PRIVATE_ATTRIBUTES or attr not in self.own_private or foreign_root:
                self.report(node, f"attribute {attr}", "private", attr)
        elif attr == "format" and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str) \
                and _plain_format_fields(node.value.value) and isinstance(node.ctx, ast.Load):
            pass  # "{:.3f}".format(x): a literal whose fields only number or name the arguments
        elif attr in DENIED_ATTRIBUTES:
            self.report(node, f"attribute {attr}", "denied", attr, reason=DENIED_ATTRIBUTES[attr])
        if not isinstance(node.ctx, ast.Load):
            self.check_store_root(node)
        parent_module = self.module_of(node.value)
        if parent_module is not None:
            module = self.module_of(node)
            if module is not None:
                if module not in self.chain_modules:
                    self.report(node, f"module {_dotted(node)}", "module_chain", _dotted(node) or attr)
                elif not (isinstance(parent, ast.Attribute) and parent.value is node):
                    self.report(node, f"module {_dotted(node)} used as a value", "module_value",
                                _dotted(node) or attr)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.check_store_root(node)
        self.generic_visit(node)

    def check_store_root(self, target: ast.Attribute | ast.Subscript) -> None:
        root: ast.AST = target.value
        while isinstance(root, ast.Attribute | ast.Subscript):
            root = root.value
        if isinstance(root, ast.Call):  # a call's result is a new object, unless it is a class
            if _dotted(root.func) == "type" and not self.is_local("type"):
                self.report(target, f"assigns {ast.unparse(target)}", "module_store", ast.unparse(target))
            return
        if not isinstance(root, ast.Name) or self.is_local(root.id):
            return
        name = root.id
        if name in self.modules or name in self.facts.setup_origins or name in self.facts.harness_names \
                or name in IPYTHON_NAMES or name not in self.readable:
            self.report(target, f"assigns {ast.unparse(target)}", "module_store", ast.unparse(target))

    # -- calls -----------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        func = _dotted(node.func)
        if func == "type" and len(node.args) == 3 and not self.is_local("type"):
            self.report(node, "call to type(name, bases, namespace)", "type_call")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        return


def _allowed_builtins() -> set[str]:
    return {name for name in dir(builtins) if not _is_dunder(name)} - FORBIDDEN_BUILTINS


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _plain_format_fields(template: str) -> bool:
    """Whether str.format on this literal reads no attribute or item of its arguments.

    "{0.__globals__}" and "{x[key]}" do; "{}", "{0}", "{name!r:>{width}}" do not.
    """
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return False
    for _, name, spec, _ in fields:
        if name is not None and ("." in name or "[" in name):
            return False
        if spec and not _plain_format_fields(spec):
            return False
    return True


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = _dotted(node.value)
        return f"{parent}.{node.attr}" if parent else None
    return None


def _functools_wraps_misuse(tree: ast.AST, own_modules: Mapping[str, str]) -> list[ast.AST]:
    """Uses of functools.wraps other than `@wraps(f)`: its `assigned=` copies any attribute."""
    wraps_names = {"functools.wraps"} | {
        alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        and node.module == "functools" for alias in node.names if alias.name == "wraps"}
    functools_names = {name for name, module in own_modules.items() if module == "functools"}
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    bad = []
    for node in ast.walk(tree):
        dotted = _dotted(node)
        if dotted is None or isinstance(parents.get(id(node)), ast.Attribute):
            continue
        head, _, rest = dotted.partition(".")
        if dotted not in wraps_names and not (head in functools_names and rest == "wraps"):
            continue
        call = parents.get(id(node))
        if not (isinstance(call, ast.Call) and call.func is node and len(call.args) == 1
                and not call.keywords):
            bad.append(node)
    return bad


# ---------------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------------

def _trusted_modules(facts: PolicyFacts) -> frozenset[str]:
    """Modules the checker may import to resolve names: the allowlist and the setup's modules."""
    return facts.allowed_imports | frozenset(facts.module_aliases.values()) | frozenset(
        origin.split(":")[0] for origin in facts.setup_origins.values()) | {REFERENCE_PACKAGE}


@dataclass
class _Own:
    """What a notebook's editable cells define themselves."""

    names: set[str] = field(default_factory=set)  # bound at module level
    modules: dict[str, str] = field(default_factory=dict)  # name -> module, bound by imports
    imported: dict[str, str] = field(default_factory=dict)  # name -> "module:attr", from-imports
    private: set[str] = field(default_factory=set)  # private attribute names they define
    classes: set[str] = field(default_factory=set)  # classes they define

    def update(self, other: _Own) -> None:
        self.names |= other.names
        self.modules.update(other.modules)
        self.imported.update(other.imported)
        self.private |= other.private
        self.classes |= other.classes


def _own(tree: ast.Module, trusted: Iterable[str]) -> _Own:
    own = _Own(names=_module_bindings(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    own.modules[alias.asname] = alias.name
                else:
                    own.modules[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                if alias.name == "*" or alias.name.startswith("_"):
                    continue
                if _is_module_path(dotted, trusted):
                    own.modules[alias.asname or alias.name] = dotted
                else:
                    own.imported[alias.asname or alias.name] = f"{node.module}:{alias.name}"
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                and node.attr.startswith("_") and not _is_dunder(node.attr):
            own.private.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            own.classes.add(node.name)
            for statement in node.body:
                for name in _module_bindings(ast.Module(body=[statement], type_ignores=[])):
                    if name.startswith("_") and not _is_dunder(name):
                        own.private.add(name)
    return own


def check_cell(source: str, facts: PolicyFacts, cell: str = "cell", *,
               notebook: _Own | None = None) -> list[Violation]:
    """The violations in one editable cell, in source order.

    notebook: what the notebook's other editable cells define (check_notebook passes it), so that
    a cell may use a helper or a class another cell defines.
    """
    if _source_hash(source) in facts.trusted_cells:
        return []  # the instructor's own demo cell, unchanged
    parsed = _parse_as_kernel(source)
    if parsed is None:
        if _automagic(source):
            return [Violation(cell, 1 + _leading_blank_lines(source), MAGIC, MESSAGES["magic"])]
        return []  # a genuine SyntaxError: the kernel reports it
    tree, offset, rewritten = parsed
    own = _own(tree, _trusted_modules(facts))
    if notebook is not None:
        own.update(notebook)
    visitor = _PolicyVisitor(facts, cell, own, offset, rewritten)
    violations = visitor.run(tree)
    for node in _functools_wraps_misuse(tree, own.modules):
        visitor.report(node, "functools.wraps with arguments", "wraps")
    return sorted(set(violations), key=lambda v: (v.line, v.construct))


def check_notebook(nb: nbformat.NotebookNode, facts: PolicyFacts) -> list[Violation]:
    """The violations in every student-editable code cell, in notebook order.

    A cell whose metadata says locked or test is skipped only when the source notebook has a
    locked or test cell of that grade_id, once: nbgrader restores those from the gradebook. Any
    other code cell is checked, whatever its metadata claims.
    """
    ids = [(_nbgrader(cell) or {}).get("grade_id") for cell in nb.cells]
    cells = [(index, cell) for index, cell in enumerate(nb.cells) if cell.get("cell_type") == "code"
             and (editable(cell) or ids[index] not in facts.locked_ids or ids.count(ids[index]) > 1)]
    own = _Own()
    for _, cell in cells:
        parsed = _parse_as_kernel(cell.source)
        if parsed is not None:
            own.update(_own(parsed[0], _trusted_modules(facts)))
    violations: list[Violation] = []
    for index, cell in cells:
        violations += check_cell(cell.source, facts, _cell_label(cell, index), notebook=own)
    return violations


__all__ = ["PolicyFacts", "Violation", "check_cell", "check_notebook", "editable", "facts_from_source"]

if __name__ == "__main__":  # python -m autograder.instructor.grading.policy SOURCE.ipynb CHAPTER [NOTEBOOK]
    source_nb = nbformat.read(sys.argv[1], as_version=4)
    chapter_facts = facts_from_source(source_nb, int(sys.argv[2]))
    target = nbformat.read(sys.argv[3], as_version=4) if len(sys.argv) > 3 else source_nb
    for violation in check_notebook(target, chapter_facts):
        print(f"{violation.cell}:{violation.line}: {violation.construct}: {violation.message}")
