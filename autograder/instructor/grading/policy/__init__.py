"""What graded code may do, decided from its source before it runs: advice for learners.

With two-process grading (``GradingRelease(isolation="two-process")``, see ``proxy.py``) the
student's code runs in a process of its own and the verdict is computed where it cannot reach,
so this policy guards nothing: ``make check`` shows what it finds as advice ("this line imports
torch, which the grader does not provide") and no exercise is zeroed for it. Under the older
one-kernel grading (``isolation="kernel"``) it still decides which cells run.

The package, one concern a file: ``rules`` (tables and messages), ``facts`` (what a chapter
allows, read from its source; nbgrader's cell kinds), ``scopes`` (names bound and read),
``ipython`` (what IPython does to a cell first), ``visitor`` (the walk); this file is the API.

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

import sys

import nbformat

from autograder.i18n import _
from autograder.instructor.grading.policy.facts import (
    PolicyFacts,
    _cell_label,
    _nbgrader,
    _source_hash,
    editable,
    facts_from_source,
)
from autograder.instructor.grading.policy.ipython import _automagic, _leading_blank_lines, _parse_as_kernel
from autograder.instructor.grading.policy.rules import MAGIC, MESSAGES, Violation
from autograder.instructor.grading.policy.scopes import _functools_wraps_misuse
from autograder.instructor.grading.policy.visitor import _Own, _own, _PolicyVisitor, _trusted_modules

# ---------------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------------


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
            return [Violation(cell, 1 + _leading_blank_lines(source), MAGIC, _(MESSAGES["magic"]))]
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
    for _index, cell in cells:
        parsed = _parse_as_kernel(cell.source)
        if parsed is not None:
            own.update(_own(parsed[0], _trusted_modules(facts)))
    violations: list[Violation] = []
    for index, cell in cells:
        violations += check_cell(cell.source, facts, _cell_label(cell, index), notebook=own)
    return violations


def check_cells(cells: list[tuple[str, str]], facts: PolicyFacts) -> list[Violation]:
    """The violations in the given ``(label, source)`` cells, each knowing what the others define
    (a helper or a base class from another cell is the student's own)."""
    own = _Own()
    for _index, source in cells:
        parsed = _parse_as_kernel(source)
        if parsed is not None:
            own.update(_own(parsed[0], _trusted_modules(facts)))
    violations: list[Violation] = []
    for label, source in cells:
        violations += check_cell(source, facts, label, notebook=own)
    return violations


__all__ = ["MAGIC", "MESSAGES", "PolicyFacts", "Violation", "check_cell", "check_cells", "check_notebook",
           "editable", "facts_from_source"]

if __name__ == "__main__":  # python -m autograder.instructor.grading.policy SOURCE.ipynb CHAPTER [NOTEBOOK]
    source_nb = nbformat.read(sys.argv[1], as_version=4)
    chapter_facts = facts_from_source(source_nb, int(sys.argv[2]))
    target = nbformat.read(sys.argv[3], as_version=4) if len(sys.argv) > 3 else source_nb
    for violation in check_notebook(target, chapter_facts):
        print(f"{violation.cell}:{violation.line}: {violation.construct}: {violation.message}")
