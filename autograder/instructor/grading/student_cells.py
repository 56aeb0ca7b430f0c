"""Which cells of a merged notebook run in S, and what S is given to run (the worker's side).

- ``student_cells``: every answer (solution) code cell, every cell the student added, every
  instructor cell they edited. Everything else (setup, demos, tests, untouched instructor cells)
  is the instructor's and runs in T.
- ``without_ipython``: S is plain Python. A cell that is not valid Python because of IPython
  lines (``%timeit``, ``!ls``, ``x = !pwd``, ``f?``) runs without them, each replaced by ``pass``
  and named in a note the feedback shows; a cell magic (``%%time``) is not run at all. A cell
  that is valid Python is never changed: IPython's prefilter does not exist in S, so a line such
  as ``ls -la`` is the Python expression it reads as.
- ``instructor_names``: from the template, the names its cells bind in T: those bound by setup,
  locked and plain cells (never by a locked cell tagged ``tests-only``) may be sent to S as data
  when a student's cell reads them, unless T's value there is one a test cell bound (the bridge
  knows those cells by ``sources_of_tests``); those bound by a setup, locked or test cell are never
  rebound from S. A ``tests-only`` cell holds the tests' own helpers (references built
  with torch): sent to S, they would answer the exercise for the student.
- ``setup_imports``: the plain imports of the setup cell, each in its own ``try``, so S starts
  with ``np``, ``plt``, ``math`` and the course library's earlier modules, and silently without
  what it does not have (torch, the harness).
- ``instructor_imports``: the imports of locked and plain cells that S can make (not torch, not
  the harness). A learner's cell after such a cell that reads the name (chapter 2's
  ``load_digits``) is given the import statement to run in S: a library's function is not data.
- the placement of the instructor's demo cells (which run in S too) is ``placement.py``'s.
"""

from __future__ import annotations

import ast
import functools
import re
import symtable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autograder.instructor.cells import nbgrader_meta
from autograder.instructor.grading.protocol import CLAIM_CHECKS

if TYPE_CHECKING:  # T's bridge imports this module: it needs no nbformat at run time
    from nbformat.notebooknode import NotebookNode

# The name list of ``x = !ls`` starts with a non-space: ``\s*`` and it never share a character, so a
# long line of spaces is read once, not backtracked over quadratically (a submission's line).
IPYTHON_LINE = re.compile(r"^\s*([%!]|[\w.,()\[\]][\w.,\s()\[\]]*=\s*[%!])|\?\s*$")
TESTS_ONLY = "tests-only"  # a cell tag: its names stay in T (docs/AUTHORING.md)
RUNS_IN_T = "runs-in-t"  # a cell tag: a demo that S must not run (docs/AUTHORING.md)
# What S may import of the course's package (student_sandbox.StudentFolders): the library of
# earlier chapters, the message catalogs, the fonts and the figures' drawing code (a learner's own
# cell draws with the setup's ``draw_network`` as in JupyterLab; drawing decides nothing).
# Everything else under ``autograder`` is T's.
S_PACKAGE_MODULES = ("autograder.reference", "autograder.i18n", "autograder.fonts", "autograder.diagrams")
NOTE = "# (not run at grading, line {line}: {text!r} is IPython syntax, and grading runs plain Python)"


def _tags(cell: NotebookNode) -> list[str]:
    return cell.get("metadata", {}).get("tags") or []


def student_cells(nb: NotebookNode, student_written: set[int]) -> list[int]:
    return [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and (nbgrader_meta(cell).get("solution") or index in student_written)]


# What Python's parser and compiler raise for a source that is not Python: ValueError for a NUL
# byte, MemoryError or RecursionError for one nested past the parser's limits (``-`` * 100_000 + ``1``).
NOT_PYTHON = (SyntaxError, ValueError, MemoryError, RecursionError)


def parsed(source: str) -> ast.Module | None:
    """The cell's syntax tree, or None when it is not Python (``NOT_PYTHON``)."""
    try:
        return ast.parse(source)
    except NOT_PYTHON:
        return None


def _parses(source: str) -> bool:
    return parsed(source) is not None


def without_ipython(source: str) -> tuple[str, list[str]]:
    """The cell as S runs it, and a note for each IPython line left out."""
    if _parses(source):
        return source, []
    lines = source.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        return "", [NOTE.format(line=1, text=first[:60]) + " (a cell magic: the whole cell)"]
    notes, kept = [], []
    for number, line in enumerate(lines, start=1):
        if IPYTHON_LINE.search(line) and not line.lstrip().startswith("#"):
            indent = line[: len(line) - len(line.lstrip())]
            kept.append(f"{indent}pass")
            notes.append(NOTE.format(line=number, text=line.strip()[:60]))
        else:
            kept.append(line)
    return "\n".join(kept), notes


def setup_imports(template: NotebookNode) -> str:
    """Each import of the setup cell, alone in a ``try`` (what S cannot import is skipped)."""
    setup = next((c for c in template.cells if nbgrader_meta(c).get("grade_id") == "setup"), None)
    if setup is None:
        return ""
    tree = parsed(setup.source)
    if tree is None:
        return ""
    blocks = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            blocks.append("try:\n    " + ast.unparse(node) + "\nexcept ImportError:\n    pass")
    return "\n".join(blocks)


# Each analysis of a cell's source is a pure function of that text, worked out once: demo_cells asks
# it of every cell in each pass of its fixed point, and T's bridge of every cell it sends.
@functools.lru_cache(maxsize=4096)
def bound_names(source: str) -> frozenset[str]:
    """Names a cell may bind in the module namespace (over-counted: comprehension variables too)."""
    source, _ = without_ipython(source)
    tree = parsed(source)
    if tree is None:
        return frozenset()
    names: set[str] = set()
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(child.name)
                # a function's ``global x`` binds x here; its other names are its own
                names.update(n for g in ast.walk(child) if isinstance(g, ast.Global) for n in g.names)
                todo.extend(child.decorator_list)
                continue
            if isinstance(child, ast.Lambda):
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store | ast.Del):
                names.add(child.id)
            elif isinstance(child, ast.alias):
                names.add((child.asname or child.name).split(".")[0])
            elif isinstance(child, ast.MatchAs | ast.MatchStar) and child.name:
                names.add(child.name)
            elif isinstance(child, ast.ExceptHandler) and child.name:
                names.add(child.name)
            todo.append(child)
    return frozenset(names)


@functools.lru_cache(maxsize=4096)
def loop_variables(source: str) -> frozenset[str]:
    """Names a cell binds only as a ``for``'s or a ``with ... as``'s variable, never by assignment,
    ``def``, ``class`` or ``import``: ``for name in ...`` is not meant to replace a test's ``name``."""
    tree = parsed(without_ipython(source)[0])
    if tree is None:
        return frozenset()
    as_variable: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            targets = [node.target]
        elif isinstance(node, ast.With | ast.AsyncWith):
            targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
        else:
            continue
        as_variable.update(id(n) for target in targets for n in ast.walk(target))
    variables, otherwise = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if id(node) in as_variable:
                variables.add(node.id)
            elif isinstance(node.ctx, ast.Store | ast.Del):
                otherwise.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            otherwise.add(node.name)
        elif isinstance(node, ast.alias):
            otherwise.add((node.asname or node.name).split(".")[0])
    return frozenset(variables - otherwise)


IN_PLACE_FUNCTIONS = frozenset({"shuffle", "at", "copyto", "put", "place", "putmask", "fill_diagonal"})
# Methods of arrays, lists, dicts and strings that change nothing: for the placement, any other
# method call may change its object (``rng.normal()`` advances the generator, ``model.fit()`` trains it).
READING_METHODS = frozenset({
    "all", "any", "argmax", "argmin", "argsort", "astype", "copy", "count", "cumprod", "cumsum", "dot",
    "flatten", "format", "get", "index", "item", "items", "join", "keys", "max", "mean", "min", "nonzero",
    "prod", "ravel", "reshape", "round", "split", "squeeze", "startswith", "std", "sum", "take", "tolist",
    "transpose", "values", "var"})
# Methods that change their object in place, for the bridge (a generator's draw is not one: the
# bridge compares a generator's state instead, and an object's other methods count as reading it).
MUTATING_METHODS = frozenset({"append", "extend", "insert", "update", "setdefault", "pop", "popitem",
                              "clear", "remove", "add", "discard", "sort", "reverse", "fill", "put",
                              "itemset", "resize", "shuffle"})


@functools.lru_cache(maxsize=4096)
def changed_in_place(source: str, mutating: frozenset[str] | None = None) -> frozenset[str]:
    """Names whose object a cell may change without rebinding the name: the root of a subscript or
    attribute it assigns or deletes (``X[:] = 0``, ``model.w += 1``, ``del d[k]``), the object of a
    method it calls (any but ``READING_METHODS``: ``X.sort()``, ``rng.normal()``, not ``X.mean()``;
    or, given ``mutating``, only those: the bridge's ``MUTATING_METHODS``), the first argument of
    NumPy's in-place functions (``rng.shuffle(X)``, ``np.add.at(X, i, v)``) and a ufunc's ``out=``,
    in its functions' bodies too (over-counted: a local of the same name counts). Not an alias's
    (``Z = X; Z[:] = 0``) nor what a function the cell calls does to its argument:
    docs/AUTHORING.md, ``runs-in-t``."""
    tree = parsed(without_ipython(source)[0])
    if tree is None:
        return frozenset()
    targets: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript | ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            targets.append(node.value)
        elif isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else ""
            if isinstance(node.func, ast.Attribute) and (
                    called in mutating if mutating is not None else called not in READING_METHODS):
                targets.append(node.func.value)
            if called in IN_PLACE_FUNCTIONS:
                targets.extend(node.args[:1])
            targets.extend(k.value for k in node.keywords if k.arg == "out")
    names: set[str] = set()
    for target in targets:
        while isinstance(target, ast.Subscript | ast.Attribute | ast.Starred):
            target = target.value
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
    return frozenset(names)


@functools.lru_cache(maxsize=4096)
def written_names(source: str) -> frozenset[str]:
    """Names whose value a cell may bind or change in place (the bridge's view of a test cell):
    ``bound_names`` and ``changed_in_place`` with only the ``MUTATING_METHODS``."""
    return bound_names(source) | changed_in_place(source, MUTATING_METHODS)


@functools.lru_cache(maxsize=4096)
def reads(source: str) -> frozenset[str]:
    """Names a cell may read from the module namespace (loaded anywhere, or declared global).

    Over-counted on purpose (a function's own locals too): T's bridge sends S only what it has.
    """
    tree = parsed(source)
    if tree is None:
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
    return frozenset(names)


@functools.lru_cache(maxsize=4096)
def global_reads(source: str) -> frozenset[str]:
    """Names a cell reads from the module namespace, exactly: Python's own ``symtable`` (a
    function's locals and parameters are not counted; its globals and a class body's free names are)."""
    try:
        top = symtable.symtable(source, "<cell>", "exec")
    except NOT_PYTHON:
        return frozenset()
    names = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    todo = list(top.get_children())
    while todo:
        table = todo.pop()
        todo.extend(table.get_children())
        for symbol in table.get_symbols():
            if not symbol.is_referenced():
                continue
            if symbol.is_global() or (table.get_type() == "class" and not symbol.is_local()
                                      and not symbol.is_free()):
                names.add(symbol.get_name())
    return frozenset(names)


@functools.lru_cache(maxsize=4096)
def reads_before_binding(source: str) -> frozenset[str]:
    """Names a cell reads that it has not bound itself by then: statement by statement, into the
    bodies of ``with``, ``for``, ``if`` and ``try`` (a test cell is one ``with exercise(...)``)."""
    tree = parsed(source)
    if tree is None:
        return frozenset()
    bound: set[str] = set()
    found: set[str] = set()

    def walk(statements: list[ast.stmt]) -> None:
        for statement in statements:
            bodies = [getattr(statement, field) for field in ("body", "orelse", "finalbody")
                      if isinstance(getattr(statement, field, None), list)]
            handlers = getattr(statement, "handlers", None) or []
            if isinstance(statement, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.If
                          | ast.While | ast.Try):
                head = [n for field, n in ast.iter_fields(statement)
                        if field not in ("body", "orelse", "finalbody", "handlers", "target")]
                for part in head:
                    for node in part if isinstance(part, list) else [part]:
                        if isinstance(node, ast.AST):
                            code = ast.unparse(node.context_expr if isinstance(node, ast.withitem)
                                               else node)
                            found.update(global_reads(code) - bound)
                for item in getattr(statement, "items", []):
                    if item.optional_vars is not None:
                        bound.update(bound_names(ast.unparse(item.optional_vars) + " = None"))
                if isinstance(statement, ast.For | ast.AsyncFor):
                    bound.update(bound_names(ast.unparse(statement.target) + " = None"))
                for body in bodies:
                    walk(body)
                for handler in handlers:
                    walk(handler.body)
                continue
            code = ast.unparse(statement)
            found.update(global_reads(code) - bound)
            bound.update(bound_names(code))

    walk(tree.body)
    return frozenset(found)


@functools.lru_cache(maxsize=4096)
def defined_objects(source: str) -> frozenset[str]:
    """Names a cell binds to what is never plain data: its functions, classes and imports."""
    tree = parsed(source)
    if tree is None:
        return frozenset()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)


def _module_in_s(module: str, chapter_number: int) -> bool:
    """Whether S can import ``module``: not torch, and of the course's package only what S has."""
    root = module.split(".")[0]
    if root in ("torch", "torchvision", "IPython", "ipywidgets"):
        return False
    if root != "autograder":
        return True
    if not module.startswith(S_PACKAGE_MODULES):
        return False
    from autograder.reference import CHAPTER_OF  # only the worker asks; T's bridge never needs it

    parts = module.split(".")
    if parts[:2] == ["autograder", "reference"] and len(parts) > 2:
        return CHAPTER_OF.get(parts[2], chapter_number) < chapter_number
    return True


def setup_names_not_in_s(setup_source: str, chapter_number: int) -> set[str]:
    """The setup cell's names S lacks: its imports S cannot make, its functions and classes."""
    tree = parsed(setup_source)
    if tree is None:
        return set()
    missing: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            missing.update((a.asname or a.name).split(".")[0] for a in node.names
                           if not _module_in_s(a.name, chapter_number))
        elif isinstance(node, ast.ImportFrom):
            if node.module == "autograder" and not node.level:  # the claims' checks: T's, callable from S
                missing.update(a.asname or a.name for a in node.names
                               if a.name not in CLAIM_CHECKS or a.asname)
            elif node.level or not _module_in_s(node.module or "", chapter_number):
                missing.update(a.asname or a.name for a in node.names)
            # ``from autograder.reference import data``: a submodule, checked on its own
            elif node.module == "autograder.reference":
                missing.update(a.asname or a.name for a in node.names
                               if not _module_in_s(f"autograder.reference.{a.name}", chapter_number))
        else:  # its assignments are data, sent when read, as a locked cell's are
            missing |= defined_objects(ast.unparse(node))
    return missing


def instructor_names(template: NotebookNode) -> tuple[list[str], list[str]]:
    """``(sendable, protected)``: names S may be given from T (bound by the template's setup, locked
    and plain cells, and by none of its ``tests-only`` cells: the tests' own helpers stay T's), and
    names S may never rebind in T (bound by a setup, locked or test cell). A name a test cell binds
    too is sent only while T holds the value a non-test cell bound there: the bridge never sends a
    value a test cell bound (``Bridge.tainted``), so a learner's cell after the instructor's data
    cell reads that data even when a test used the same name for its own input. A plain cell's
    names are not protected: the student may edit that cell, which then runs in S and must bind
    them in T itself."""
    in_tests: set[str] = set()
    tests_only: set[str] = set()
    locked: set[str] = set()
    plain: set[str] = set()
    for cell in template.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or meta.get("solution"):
            continue
        names = bound_names(cell.source)
        if TESTS_ONLY in _tags(cell):
            tests_only.update(names)
        elif meta.get("grade"):
            in_tests.update(names)
        elif meta.get("grade_id"):
            locked.update(names)
        else:
            plain.update(names)
    private = {name for name in in_tests | tests_only | locked | plain if name.startswith("_")}
    return sorted((locked | plain) - tests_only - private), sorted(in_tests | tests_only | locked)


def instructor_imports(template: NotebookNode) -> dict[str, str]:
    """The imports of the template's locked and plain cells (not the setup's, not a test's nor a
    ``tests-only`` cell's) that S can make itself, by the name each binds:
    ``{"load_digits": "from sklearn.datasets import load_digits"}``. A module or a library's
    function is not data T could send; T's bridge gives S the import to run instead, once T ran it."""
    found: dict[str, str] = {}
    for cell in template.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or meta.get("solution") or meta.get("grade") \
                or meta.get("grade_id") == "setup" or TESTS_ONLY in _tags(cell):
            continue
        tree = parsed(without_ipython(cell.source)[0])
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _module_in_s(alias.name, 0):
                        found[(alias.asname or alias.name).split(".")[0]] = ast.unparse(ast.Import([alias]))
            elif isinstance(node, ast.ImportFrom) and not node.level and _module_in_s(node.module or "", 0):
                for alias in node.names:
                    if alias.name != "*":
                        statement = ast.ImportFrom(node.module, [alias], 0)
                        found[alias.asname or alias.name] = ast.unparse(statement)
    return found


def sources_of_tests(nb: NotebookNode, student_written: set[int] | list[int] = ()) -> list[str]:
    """The sources of ``nb``'s test and ``tests-only`` cells, as T runs them: the bridge knows a
    test cell by its source, and never sends S a value such a cell bound."""
    return sorted({cell.source for index, cell in enumerate(nb.cells)
                   if cell.cell_type == "code" and index not in student_written
                   and (nbgrader_meta(cell).get("grade") and not nbgrader_meta(cell).get("solution")
                        or TESTS_ONLY in _tags(cell))})


@dataclass(frozen=True)
class Placement:
    """Which of the instructor's untouched cells S runs: ``in_s`` instead of T (T gets the names
    they bind as it gets a student's), ``also_in_s`` as well as T (definitions, so S has its own
    copy: T's stays T's). ``definitions_in_t``: ``(cell, source)`` of cells in ``in_s`` whose
    functions and classes T defines as well, from that source, before S runs the cell (a demo that
    stays in T calls them)."""

    in_s: tuple[int, ...] = ()
    also_in_s: tuple[int, ...] = ()
    definitions_in_t: tuple[tuple[int, str], ...] = ()


def label(cell: NotebookNode, index: int) -> str:
    grade_id = nbgrader_meta(cell).get("grade_id")
    return f"cell {grade_id}" if grade_id else f"cell {index}"


def cells_file(template: NotebookNode, nb: NotebookNode, indices: list[int],
               placement: Placement | None = None, demo_limit: float | None = None,
               allowed: dict[int, float] | None = None) -> dict[str, Any]:
    """What T's bridge reads: the setup imports and, per cell index, the source S runs (the
    student's cells and ``placement.in_s``; ``placement.also_in_s`` under ``"also"``). ``allowed``:
    the student's cells the instructor let run past the per-cell limit, with the limit each gets."""
    in_s, also_in_s = (placement.in_s, placement.also_in_s) if placement is not None else ((), ())
    cells = {}
    for index in [*indices, *in_s, *also_in_s]:
        text = nb.cells[index].source.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
        source, notes = without_ipython(text)
        cells[str(index)] = {"source": source, "notes": notes, "label": label(nb.cells[index], index)}
        if index not in indices and demo_limit is not None:  # the instructor's: a cell's limit
            cells[str(index)]["limit"] = demo_limit  # (and its key marks it the instructor's)
        if index in indices and index in (allowed or {}):
            cells[str(index)]["allowed_limit"] = allowed[index]
    for index, definitions in placement.definitions_in_t if placement is not None else ():
        cells[str(index)]["t_definitions"] = definitions
    # A demo in S binds in T only what a cell of T may read (whichever way the demo binds it: a
    # function it calls may set a global): every other array it binds would be mirrored on both
    # sides, and compared at every message (chapter 5: 270 arrays, 3 MB, about 2 ms a round
    # trip). Not when a cell of T does not parse (what it reads is then unknown).
    in_t = [c.source for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and i not in indices and i not in in_s]
    if in_s and all(_parses(source) for source in in_t):
        t_reads = sorted(set().union(*(reads(source) for source in in_t),
                                     *(reads(source) for _, source in placement.definitions_in_t)))
        for index in in_s:
            cells[str(index)]["bind"] = t_reads
    sendable, protected = instructor_names(template)
    # What only S binds is S's to bind in T (a demo's figure and results), so not protected.
    only_in_s = set().union(*(bound_names(nb.cells[i].source) for i in in_s))
    rest = set().union(*(bound_names(c.source) for i, c in enumerate(nb.cells)
                         if c.cell_type == "code" and i not in in_s and i not in indices))
    protected = sorted(set(protected) - (only_in_s - rest))
    # The notebook's last code cell, when S runs it: nothing after it asks S for anything.
    last = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), default=-1)
    return {"setup": setup_imports(template), "cells": cells, "sendable": sendable, "protected": protected,
            "also": [str(i) for i in also_in_s], "tests": sources_of_tests(nb, indices),
            "imports": instructor_imports(template), "last": str(last) if str(last) in cells else None}
