"""What IPython would do with a cell before Python sees it: its transforms, magics and automagic."""

from __future__ import annotations

import ast
import functools
import re

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


def _ast_parse(source: str) -> ast.Module:
    """Parse as IPython compiles a cell: `await` is allowed at the top level (autoawait)."""
    return compile(source, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                   dont_inherit=True)
