"""Which of the instructor's untouched cells run in S as well as, or instead of, in T (the worker's side).

``demo_cells``: the instructor's untouched cells that S runs too, beside the student's: demos
  whose names no test reads and that read nothing S cannot have (torch, the harness, a test's or
  a ``tests-only`` cell's names, a function or class T defined). A demo that trains the
  student's network then runs where the network is, instead of crossing to S at every layer
  of every batch (chapter 6's capstone: 130,000 round trips). It decides nothing: no test
  reads what it binds, so what student code does to it in S reaches no verdict. A cell tagged
  ``runs-in-t`` stays in T (docs/AUTHORING.md).

  A demo that stays in T (it needs what S lacks: chapter 5's widget) and calls a function a
  demo in S defines does not pull that demo back into T when the function can be defined
  without it (``definitions_for_t``): S runs the demo, T runs only its functions and classes
  (``Placement.definitions_in_t``), so the demos after it stay in S too.

``timings_not_run``: a cell tagged ``timing`` runs nowhere at grading; it prints why instead.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from autograder.i18n import N_
from autograder.instructor.cells import nbgrader_meta
from autograder.instructor.grading.student_cells import (
    RUNS_IN_T,
    TESTS_ONLY,
    Placement,
    _module_in_s,
    _parses,
    _tags,
    bound_names,
    changed_in_place,
    defined_objects,
    global_reads,
    parsed,
    reads_before_binding,
    setup_names_not_in_s,
)

if TYPE_CHECKING:
    from nbformat.notebooknode import NotebookNode

# A cell tagged ``timing`` measures how fast the student's code runs (chapter 6's epoch and width
# timings). At grading it would time the grader: the sandbox, a loaded machine, and in two-process
# grading a round trip to S at every call (6,600 ms an epoch instead of 10). So it is not run; its
# output says why (docs/AUTHORING.md). No test may read what it binds.
TIMING_TAG = "timing"
TIMING_NOTE = N_("(This cell times your code. It is not run at grading: there it would time the grader, "
                 "not your code. Run it in JupyterLab to see your timings.)")


@contextlib.contextmanager
def timings_not_run(nb: NotebookNode, student_written: set[int]) -> Iterator[None]:
    """While grading, each untouched instructor cell tagged ``timing`` only prints ``TIMING_NOTE``
    (in T, in the submission's language); its source is put back after, for the feedback."""
    originals = {}
    for index, cell in enumerate(nb.cells):
        tags = _tags(cell)
        if cell.cell_type == "code" and index not in student_written and TIMING_TAG in tags:
            originals[index] = (cell.source, copy.deepcopy(cell.metadata))
            cell.source = f"print(__import__('autograder.i18n', fromlist=['tr']).tr({TIMING_NOTE!r}))"
            cell.metadata["tags"] = [*tags, RUNS_IN_T]
    try:
        yield
    finally:
        for index, (source, metadata) in originals.items():
            nb.cells[index].source, nb.cells[index].metadata = source, metadata


@functools.lru_cache(maxsize=4096)
def imports_s_cannot_make(source: str, chapter_number: int) -> list[str]:
    """The modules a cell imports (anywhere in it) that S cannot: ``import torch`` in a demo keeps it
    in T, where it runs as in JupyterLab, instead of failing in S with "No module named 'torch'"."""
    tree = parsed(source)
    if tree is None:
        return []
    modules = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    modules += [node.module or "" for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and not node.level]
    return [module for module in modules if not _module_in_s(module, chapter_number)]


@functools.lru_cache(maxsize=4096)
def only_definitions(source: str) -> bool:
    """Whether a cell only defines: functions, classes, imports, constants and docstrings."""
    tree = parsed(source)
    if tree is None:
        return False
    plain = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return all(isinstance(node, plain)
               or (isinstance(node, ast.Expr | ast.Assign | ast.AnnAssign)
                   and node.value is not None and isinstance(node.value, ast.Constant)
                   # a name, not ``X[:] = 0`` (that changes X in place)
                   and all(isinstance(target, ast.Name)
                           for target in getattr(node, "targets", [getattr(node, "target", None)])
                           if target is not None))
               for node in tree.body)


def definitions_for_t(source: str, available: frozenset[str] | set[str]) -> str | None:
    """The lines of a cell's functions and classes, for T to run alone (its other statements run
    in S), or None when defining them reads anything but ``available`` (the setup's names),
    Python's builtins and what those lines bind (a default, a decorator, a base or a class
    body's statement is evaluated when it is defined, and T must have what it reads), or when the
    cell imports (what S imports is S's: T would need its own, the cell's import stays in T), or
    when their bodies read any other global: T's copy reads T's globals when it is called, and T's
    value of the cell's own data is S's (a learner's cell may rebind it) or a test's (T keeps a
    test's value under a name S binds too): red team 5, a test's reference read a scale S set."""
    tree = parsed(source)
    if tree is None:
        return None
    # a setup name the cell binds again (``SEED = 1``) is the cell's in S, the setup's in T: not known
    known = (set(available) - bound_names(source)) | set(dir(builtins))
    lines, kept = source.splitlines(), []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom | ast.AsyncFunctionDef):
            return None
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            if not _evaluated_at_definition(node) <= known:
                return None
            known.add(node.name)
        else:
            continue
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        kept.append("\n".join(lines[first - 1:node.end_lineno]))
    if not kept:
        return None
    copied = "\n\n\n".join(kept)
    return copied if global_reads(copied) <= known else None


@functools.lru_cache(maxsize=4096)
def assigned_names(source: str) -> frozenset[str]:
    """The names a cell surely binds to data: the plain names an assignment at its top level
    binds (not in a branch or a loop that may not run; under-counted on purpose)."""
    tree = parsed(source)
    if tree is None:
        return frozenset()
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else []
        for target in targets:
            parts = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
            names.update(part.id for part in parts if isinstance(part, ast.Name))
    return frozenset(names)


def _evaluated_at_definition(node: ast.FunctionDef | ast.ClassDef) -> set[str]:
    """The names a ``def`` or ``class`` statement reads when it runs (not what its functions read
    when they are called). A class body's own names count as read (over-counted on purpose)."""
    if isinstance(node, ast.FunctionDef):
        arguments = node.args
        parts: list[ast.AST] = [*node.decorator_list, *arguments.defaults,
                                *(d for d in arguments.kw_defaults if d is not None)]
        parts += [a.annotation for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                         arguments.vararg, arguments.kwarg] if a is not None and a.annotation]
        parts += [node.returns] if node.returns is not None else []
        return {n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name)}
    names = {n.id for part in [*node.decorator_list, *node.bases, *node.keywords]
             for n in ast.walk(part) if isinstance(n, ast.Name)}
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef | ast.ClassDef):
            names |= _evaluated_at_definition(statement)
        else:
            names |= {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)}
    return names


def demo_cells(template: NotebookNode, nb: NotebookNode, student_written: set[int],
               chapter_number: int) -> Placement:
    """Where the instructor's untouched code cells run (see the module's doc).

    In order, a cell stays in T when it is the setup, a test, tagged ``tests-only`` or
    ``runs-in-t``, or reads a name S cannot be given: the setup's torch and harness, a name a test
    or ``tests-only`` cell binds, a function, class or import of a cell that stays in T (names a T
    cell binds by assignment are data: S is sent them when it reads them). Else a cell a test may
    depend on (``_feeding_the_tests``) runs in T, and in S as well when it only defines (the
    course's ``Sequential``: the tests build theirs in T, the demos theirs in S); any other cell
    runs in S alone, unless a
    cell that stays in T reads a function, class or import it defines: then T runs that cell's
    definitions as well when ``definitions_for_t`` can give them and the reader feeds no test,
    else the cell stays in T too, and the placement is worked out again.
    """
    instructor = [(i, c) for i, c in enumerate(nb.cells)
                  if c.cell_type == "code" and i not in student_written
                  and not nbgrader_meta(c).get("solution")]
    # The names the template's answer cells bind (never the student's cells': a name a student's
    # cell binds must not take a test's input out of the tests' reach).
    answers = set().union(*(bound_names(c.source) for c in template.cells
                            if c.cell_type == "code" and nbgrader_meta(c).get("solution")))
    feeding, read_by_trusted = _feeding_the_tests(instructor, answers)
    kept_in_t: set[int] = set()
    while True:
        placement, wanted = _place(instructor, feeding, read_by_trusted, kept_in_t, chapter_number)
        if wanted <= kept_in_t:
            return placement
        kept_in_t |= wanted


def _feeding_the_tests(instructor: list[tuple[int, NotebookNode]],
                       answers: set[str]) -> tuple[set[int], set[str]]:
    """The cells a test may depend on: those that bind, or change in place (``changed_in_place``), a
    name a test or ``tests-only`` cell reads, then those that bind or change a name those read, and
    so on. A cell that only reads such a name (a demo training on ``X_train``) does not: in S it is
    given a copy, so whatever it or the student's code does there never reaches T. The
    setup's names do not count (T's setup binds them and S may never rebind them in T), nor the
    student's (``answers``: they are S's anyway), nor Python's builtins, nor the functions and
    classes of a cell that only defines (S runs its own copy, or is given T's read-only); but what
    the bodies of those functions and classes (and the setup's) read from the module counts, once a
    test or such a cell names them: a test's helper reads its globals when the test calls it.
    ``(those cells, every name they and the tests read)``."""
    setup = next((c for _, c in instructor if nbgrader_meta(c).get("grade_id") == "setup"), None)
    from_setup = (bound_names(setup.source) if setup is not None else set()) | answers | set(dir(builtins))
    # The functions and classes of the setup and of the cells that only define: what their bodies
    # read from the module is read by whoever calls them (a test's helper reads a global at call time).
    definers: list[tuple[set[str], set[str]]] = []
    for _, cell in instructor:
        if (cell is setup or only_definitions(cell.source)) \
                and not (nbgrader_meta(cell).get("grade") or TESTS_ONLY in _tags(cell)):
            defined = defined_objects(cell.source)
            if cell is not setup:
                from_setup |= defined
            definers.append((defined, global_reads(cell.source) - defined))
    needed: set[str] = set()
    read_by_trusted: set[str] = set()
    rest = []
    for index, cell in instructor:
        if nbgrader_meta(cell).get("grade") or TESTS_ONLY in _tags(cell):
            needed |= reads_before_binding(cell.source)
            read_by_trusted |= reads_before_binding(cell.source)
        elif cell is not setup:
            rest.append((index, bound_names(cell.source) | changed_in_place(cell.source),
                         reads_before_binding(cell.source)))
    needed -= from_setup
    feeding: set[int] = set()
    called: set[int] = set()  # definers whose functions a test (or a cell feeding one) may call
    grown = True
    while grown:
        grown = False
        for index, touched, read in rest:
            if index not in feeding and touched & needed:
                feeding.add(index)
                needed |= read - from_setup
                read_by_trusted |= read
                grown = True
        for number, (defined, body_reads) in enumerate(definers):
            if number not in called and defined & read_by_trusted:
                called.add(number)
                needed |= body_reads - from_setup
                read_by_trusted |= body_reads
                grown = True
    return feeding, read_by_trusted


def _place(instructor: list[tuple[int, NotebookNode]], feeding: set[int], read_by_trusted: set[str],
           kept_in_t: set[int], chapter_number: int) -> tuple[Placement, set[int]]:
    """One pass of ``demo_cells``: the placement, and the cells in S whose definitions T reads."""
    not_in_s: set[str] = set()
    in_s: list[int] = []
    also: list[int] = []
    defined_in_s: dict[str, int] = {}  # a function, class or import of a cell in S alone -> that cell
    wanted: set[int] = set()
    setup_names: frozenset[str] = frozenset()
    in_t: dict[int, str] = {}  # a cell in S alone -> the definitions T runs too (definitions_for_t)
    tests_bind: set[str] = set()  # the names a test or ``tests-only`` cell bound so far
    # A test's name a cell in S bound again since -> that cell: T still holds the test's value there (S's
    # is never bound where a test binds), so a cell in T that reads it pulls that cell into T (red team 5)
    rebound_in_s: dict[str, int] = {}
    for index, cell in instructor:
        meta, tags, source = nbgrader_meta(cell), _tags(cell), cell.source
        if meta.get("grade_id") == "setup":
            not_in_s |= setup_names_not_in_s(source, chapter_number)
            setup_names = bound_names(source)
            continue
        if meta.get("grade") or TESTS_ONLY in tags:
            not_in_s |= bound_names(source)
            tests_bind |= bound_names(source)
            for name in bound_names(source):
                rebound_in_s.pop(name, None)
            continue
        s_can = (RUNS_IN_T not in tags and _parses(source) and not reads_before_binding(source) & not_in_s
                 and not imports_s_cannot_make(source, chapter_number))
        if s_can and only_definitions(source):
            if index in kept_in_t or defined_objects(source) & read_by_trusted:
                also.append(index)  # T's copy for the tests (and T's demos), S's for S's demos
                for name in bound_names(source):
                    rebound_in_s.pop(name, None)
            else:
                in_s.append(index)
                defined_in_s.update(dict.fromkeys(defined_objects(source), index))
                rebound_in_s.update(dict.fromkeys(bound_names(source) & tests_bind, index))
            continue
        if s_can and index not in feeding and index not in kept_in_t:
            in_s.append(index)
            defined_in_s.update(dict.fromkeys(defined_objects(source), index))
            # S binds these itself now: a later demo that reads them reads S's own (chapter 5's
            # params_small, a test's name too), as in JupyterLab the last cell to bind a name wins
            not_in_s -= assigned_names(source)
            rebound_in_s.update(dict.fromkeys(bound_names(source) & tests_bind, index))
            continue
        # T runs it: it must not need S's functions, classes or imports (or T defines them as well)
        for definer in {defined_in_s[name] for name in reads_before_binding(source) if name in defined_in_s}:
            copy_for_t = None if index in feeding else definitions_for_t(dict(instructor)[definer].source,
                                                                        setup_names)
            if copy_for_t is None:
                wanted.add(definer)
            else:
                in_t[definer] = copy_for_t
        wanted.update(rebound_in_s[name] for name in reads_before_binding(source) if name in rebound_in_s)
        for name in bound_names(source):
            rebound_in_s.pop(name, None)
        not_in_s |= defined_objects(source)
    return Placement(tuple(in_s), tuple(also), tuple(sorted(in_t.items()))), wanted
