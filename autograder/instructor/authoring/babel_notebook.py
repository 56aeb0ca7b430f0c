"""A Babel extractor for notebooks: the ``tr("...")`` and ``N_("...")`` calls of their code cells.

Code cells are byte-identical in every edition, so text they draw or print (a figure's title, an axis
label, a widget's label, a sentence a test cell prints) is translated when it runs, through
``autograder.i18n.tr``; this extractor gives Babel those literals, so ``make messages`` puts them in the
same ``backprop_lab`` catalog as the package's own messages. A label that is also a key or data (an
optimizer's name keying its color, a dict key a test looks up) is marked where it is defined with
``N_("...")``, which returns it unchanged, and translated where it is shown, ``tr(label)``. Wired in
``babel.cfg``:

    [extractors]
    notebook = autograder.instructor.authoring.babel_notebook:extract_notebook

    [notebook: **.ipynb]
    keywords = tr N_

It also extracts the test cells' own texts, which the checks show inside their messages: the literal
``name=`` and ``hint=`` of every ``check_*`` call (``check_close(..., name="value of n3, the output")``),
and an f-string's template (``name=f"W of layer {index}"`` gives ``W of layer {index}``), which
``autograder.i18n.label`` matches at run time. A text that is itself code (``"dW"``,
``"count_parameters([2, 1])"``) stays English and is not extracted. Which part of the cells, the
option ``tests`` in the config file says: ``visible`` (the default: everything but the hidden tests,
for ``backprop_lab``, which ships to learners) or ``hidden`` (the hidden tests alone, for the grader's
``backprop_lab_hidden``: ``babel_hidden.cfg``).

It follows Babel's extraction API (``(lineno, funcname, message, comments)`` per message): each code
cell goes through Babel's own Python extractor, hidden tests left out (the catalog ships to learners);
line numbers count the notebook's code lines in order, and every message names its cell for the
translator (``#. cell <id>``).
"""

from __future__ import annotations

import ast
import io
import json
import re
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python

# IPython's own syntax (`%matplotlib inline`, `!pip ...`): not Python; blanked so the tokenizer keeps going.
_IPYTHON_LINE = re.compile(r"^\s*[%!]")
# The catalog ships in the package, to learners: a hidden test's text must never reach it.
_HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*", re.M | re.S)


# A test's own texts: the keywords of the checks (autograder/checks.py) whose values messages show.
_TEXT_KEYWORDS = ("name", "hint")


def _hidden_lines(source: str) -> set[int]:
    """The 1-based numbers of the lines inside hidden tests (their markers included)."""
    lines: set[int] = set()
    for hidden in _HIDDEN_TESTS.finditer(source):
        first = source.count("\n", 0, hidden.start()) + 1
        lines.update(range(first, first + hidden.group().count("\n") + 1))
    return lines


def _python_only(source: str, tests: str = "visible") -> str:
    """The cell's Python, line for line, IPython lines blanked: with ``tests="visible"`` the hidden tests
    blanked, with ``"hidden"`` everything but them (dedented, so that Babel's tokenizer reads them)."""
    hidden = _hidden_lines(source)
    lines = source.split("\n")
    keep = [(number in hidden) == (tests == "hidden") for number in range(1, len(lines) + 1)]
    kept = [line if wanted and not _IPYTHON_LINE.match(line) else "" for line, wanted in zip(lines, keep)]
    if tests == "hidden":
        indents = [len(line) - len(line.lstrip()) for line in kept if line.strip()]
        cut = min(indents, default=0)
        kept = [line[cut:] for line in kept]
    return "\n".join(kept)


def _is_code(text: str) -> bool:
    """Whether a test's text is a Python expression (``"dW"``, ``"softmax(z)"``): code stays English."""
    try:
        ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return False
    return True


def _template(value: ast.expr) -> str | None:
    """A literal string's text, or an f-string's template with each ``{expression}`` as its field
    (conversion and literal format spec kept: ``{loss:.3f}``); None for anything else."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    if not isinstance(value, ast.JoinedStr):
        return None
    text = []
    for part in value.values:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            text.append(part.value.replace("{", "{{").replace("}", "}}"))
            continue
        if not isinstance(part, ast.FormattedValue):
            return None
        field = ast.unparse(part.value)
        if part.conversion != -1:
            field += "!" + chr(part.conversion)
        if part.format_spec is not None:
            spec = _template(part.format_spec)
            if spec is None or "{" in spec:
                return None
            field += ":" + spec
        if "{" in field or "}" in field:
            return None
        text.append("{" + field + "}")
    return "".join(text)


def _test_texts(source: str, tests: str) -> Iterator[tuple[int, str]]:
    """``(line, text)`` for the ``name=``/``hint=`` texts of the ``check_*`` calls in the cell's part
    ``tests`` ("visible" or "hidden")."""
    blank = "\n".join("" if _IPYTHON_LINE.match(line) else line for line in source.split("\n"))
    try:
        tree = ast.parse(blank)
    except SyntaxError:
        return
    hidden = _hidden_lines(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if not called.startswith("check_") or (node.lineno in hidden) != (tests == "hidden"):
            continue
        for keyword in node.keywords:
            if keyword.arg not in _TEXT_KEYWORDS:
                continue
            # name=A if relu else B: either text may be shown
            values = [keyword.value]
            while isinstance(values[-1], ast.IfExp):
                values[-1:] = [values[-1].body, values[-1].orelse]
            for value in values:
                text = _template(value)
                if text and not _is_code(re.sub(r"\{[^{}]*\}", "x", text)):
                    yield value.lineno, text


def extract_notebook(fileobj: IO[bytes], keywords: Mapping[str, Any] | Collection[str],
                     comment_tags: Collection[str], options: Mapping[str, Any]) -> Iterator[tuple]:
    """Yield ``(lineno, funcname, message, comments)`` for every keyword call with literal strings in the
    code cells of the notebook ``fileobj`` (markdown and raw cells hold no calls)."""
    notebook = json.loads(fileobj.read().decode(options.get("encoding", "utf-8")))
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"{getattr(fileobj, 'name', 'this file')} is not a notebook (no list of cells): "
                         "babel.cfg's [notebook: ...] pattern should match only .ipynb files")
    tests = options.get("tests", "visible")
    if tests not in ("visible", "hidden"):
        raise ValueError(f"babel_notebook: the option tests = {tests!r} should be 'visible' or 'hidden'")
    offset = 0
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        cell_note = [f"cell {cell['id']}"] if cell.get("id") else []
        code = io.BytesIO(_python_only(source, tests).encode("utf-8"))
        for lineno, funcname, message, comments in extract_python(code, keywords, comment_tags,
                                                                 {"encoding": "utf-8"}):
            # Babel gives no line for a call without a literal (tr(name)); it drops that call anyway.
            yield offset + (lineno or 1), funcname, message, [*cell_note, *comments]
        for lineno, text in _test_texts(source, tests):
            # No function name: Babel takes the text whole, as the first argument of a plain call.
            yield offset + lineno, None, text, [*cell_note, "a check's name or hint in a test cell"]
        offset += len(source.splitlines())
