"""The walk: one ``ast`` visitor that reports each construct the rules refuse, with its line."""

from __future__ import annotations

import ast
import builtins
import types
from collections.abc import Iterable
from dataclasses import dataclass, field

from autograder.i18n import _
from autograder.instructor.grading.policy.facts import PolicyFacts, _import, _is_module_path
from autograder.instructor.grading.policy.rules import (
    ALLOWED_CLASS_DUNDER_NAMES,
    ALLOWED_DUNDER_METHODS,
    ALLOWED_MODULE_BASES,
    DENIED_ATTRIBUTES,
    DENIED_PRIVATE_ATTRIBUTES,
    EXTRA_READABLE,
    FORBIDDEN_BUILTINS,
    IPYTHON_NAME_PATTERN,
    IPYTHON_NAMES,
    MAGIC,
    MESSAGES,
    READABLE_DUNDER_ATTRIBUTES,
    REFERENCE_PACKAGE,
    Violation,
)
from autograder.instructor.grading.policy.scopes import (
    _COMPREHENSIONS,
    _dotted,
    _is_dunder,
    _module_bindings,
    _plain_format_fields,
    _root_name,
    _scope_bindings,
)

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
        # In the submission's language (autograder/i18n.py); a reason (``extra``) is one of rules.py's too.
        message = _(MESSAGES[kind]).format(detail=detail or construct, **{k: _(v) for k, v in extra.items()})
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
