"""What the policy knows about a chapter (``PolicyFacts``, read from its source) and nbgrader's cell kinds."""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib
import importlib.machinery
import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import nbformat

from autograder.instructor.grading.policy.ipython import _ast_parse, _ipython_transform
from autograder.instructor.grading.policy.rules import (
    HARNESS_PACKAGES,
    NUMPY_IMPORTS,
    REFERENCE_PACKAGE,
    STDLIB_IMPORTS,
)
from autograder.instructor.grading.policy.scopes import _module_bindings, _ordered_free_names
from autograder.reference import CHAPTER_OF


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


_MISSING = object()


def _is_module_path(dotted: str, trusted: Iterable[str]) -> bool:
    """Whether `a.b` names a module (so `from a import b` binds a module).

    A package not imported yet is not imported for this: its submodule is looked for on disk, as
    the import system would find it (a release's policy facts named scikit-learn's and torch's
    submodules at 2 s of imports in every `make grade`)."""
    parent, _, attr = dotted.rpartition(".")
    if not parent:
        return True
    if parent in sys.modules:  # its attribute, or else (as the import system) its submodule on disk:
        # not whether this process happened to import that submodule already
        value = getattr(sys.modules[parent], attr, _MISSING)
        if value is not _MISSING:
            return isinstance(value, types.ModuleType)
    if (parent not in trusted and dotted not in trusted) \
            or parent.split(".")[0] in HARNESS_PACKAGES - {"autograder"}:
        return False  # as _import: never a name student code chose (a trusted one's parent is found)
    return _module_on_disk(dotted)


def _module_on_disk(dotted: str) -> bool:
    """Whether the import system would find the module ``dotted``, found without running any of it
    (from the search path of its deepest package already imported: an editable install's finder)."""
    parts, path, start = dotted.split("."), None, 1
    for depth in range(len(parts) - 1, 0, -1):
        package = sys.modules.get(".".join(parts[:depth]))
        if package is not None:
            path = getattr(package, "__path__", None)
            if path is None:
                return False  # a plain module has no submodules
            path, start = list(path), depth + 1
            break
    for depth in range(start, dotted.count(".") + 2):
        try:
            spec = importlib.machinery.PathFinder.find_spec(".".join(dotted.split(".")[:depth]), path)
        except (ImportError, ValueError):
            return False
        if spec is None:
            return False
        path = spec.submodule_search_locations
        if path is None and depth <= dotted.count("."):
            return False  # a plain module has no submodules
    return True


# ---------------------------------------------------------------------------------------------
# Facts from the source notebook
# ---------------------------------------------------------------------------------------------


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
