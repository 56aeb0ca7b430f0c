"""Which names a piece of code binds and reads, and in which scope (Python's rules, from the ``ast``)."""

from __future__ import annotations

import ast
import string
from collections.abc import Mapping

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
