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

It follows Babel's extraction API (``(lineno, funcname, message, comments)`` per message): each code
cell goes through Babel's own Python extractor, hidden tests left out (the catalog ships to learners);
line numbers count the notebook's code lines in order, and every message names its cell for the
translator (``#. cell <id>``).
"""

from __future__ import annotations

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


def _python_only(source: str) -> str:
    """The cell's visible Python, line for line: hidden tests and IPython lines blanked."""
    source = _HIDDEN_TESTS.sub(lambda hidden: "\n" * hidden.group().count("\n"), source)
    return "\n".join("" if _IPYTHON_LINE.match(line) else line for line in source.split("\n"))


def extract_notebook(fileobj: IO[bytes], keywords: Mapping[str, Any] | Collection[str],
                     comment_tags: Collection[str], options: Mapping[str, Any]) -> Iterator[tuple]:
    """Yield ``(lineno, funcname, message, comments)`` for every keyword call with literal strings in the
    code cells of the notebook ``fileobj`` (markdown and raw cells hold no calls)."""
    notebook = json.loads(fileobj.read().decode(options.get("encoding", "utf-8")))
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"{getattr(fileobj, 'name', 'this file')} is not a notebook (no list of cells): "
                         "babel.cfg's [notebook: ...] pattern should match only .ipynb files")
    offset = 0
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        cell_note = [f"cell {cell['id']}"] if cell.get("id") else []
        code = io.BytesIO(_python_only(source).encode("utf-8"))
        for lineno, funcname, message, comments in extract_python(code, keywords, comment_tags,
                                                                 {"encoding": "utf-8"}):
            # Babel gives no line for a call without a literal (tr(name)); it drops that call anyway.
            yield offset + (lineno or 1), funcname, message, [*cell_note, *comments]
        offset += len(source.splitlines())
