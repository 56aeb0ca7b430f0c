"""What a translator translates in one notebook, and how a translation goes back in.

A notebook's translatable text is a list of ``Message``s, each keyed by the nbformat cell id
and a part name, and stamped with the SHA-256 of its English text:

    markdown cell            the whole cell                          part ``md``
    exercise (solution) cell each docstring                          part ``doc:<function>``
                             each block of comments outside the      part ``comment:<n>``
                             solution region (markers excluded)

Code stays English: only the text inside a docstring's quotes and after a comment's ``#``
changes, so a translated cell defines the same names and runs the same code. Test cells,
locked cells and plain code cells are never touched (they must be byte-identical across
editions; ``nbgrader autograde`` puts the English test cells back anyway).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

from nbformat.notebooknode import NotebookNode

from autograder.instructor.cells import is_solution_code, nbgrader_meta, sha256

HASH_LENGTH = 12  # hex digits of SHA-256 in a msgctxt: enough to tell two texts apart, short to read
# nbgrader's own markers: structure, not prose; never offered for translation.
MARKER = re.compile(r"#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\b|#\s*YOUR CODE HERE\b")
COMMENT_PREFIX = re.compile(r"#+ ?")


@dataclass(frozen=True)
class Message:
    """One translatable text: where it lives (cell id, part) and its English text."""

    cell_id: str
    part: str
    text: str

    @property
    def key(self) -> str:
        return f"{self.cell_id}/{self.part}"

    @property
    def context(self) -> str:
        """The gettext msgctxt: ``<cell id>/<part>@<hash of the English>``."""
        return f"{self.key}@{sha256(self.text)[:HASH_LENGTH]}"


def split_context(context: str) -> tuple[str, str]:
    """``(key, hash)`` of a msgctxt written by ``Message.context``."""
    key, _, digest = context.rpartition("@")
    return key, digest


def is_translatable(cell: NotebookNode) -> bool:
    """Markdown that nbgrader does not lock, and exercise cells (their docstrings and comments)."""
    if cell.cell_type == "markdown":
        return not nbgrader_meta(cell).get("locked", False)
    return is_solution_code(cell)


def cell_messages(cell: NotebookNode) -> list[Message]:
    """The messages of one cell, in reading order (empty for cells that stay English)."""
    if not is_translatable(cell) or not cell.source.strip():
        return []
    if not cell.get("id"):
        raise ValueError("a notebook cell has no id: translations are keyed by nbformat cell ids "
                         "(nbformat 4.5); run `make execute NB=...` to store the notebook with ids")
    if cell.cell_type == "markdown":
        return [Message(cell.id, "md", cell.source)]
    return [Message(cell.id, part, text) for part, text, _ in _code_spans(cell)]


def notebook_messages(nb: NotebookNode) -> list[Message]:
    return [message for cell in nb.cells for message in cell_messages(cell)]


def translate_cell(cell: NotebookNode, translations: dict[str, str]) -> str:
    """The cell's source with each message whose msgctxt is in ``translations`` replaced.

    ``translations`` maps a msgctxt (cell id, part and the hash of the English) to its
    translation, so a text is replaced only by a translation of that exact English: a changed
    cell, or nbgrader's ``YOUR ANSWER HERE`` in place of a model answer, stays as it is.
    """
    if cell.cell_type == "markdown":
        return translations.get(Message(cell.id, "md", cell.source).context, cell.source)
    source = cell.source
    # From the end, so that earlier offsets stay valid.
    for part, english, span in reversed(_code_spans(cell)):
        context = Message(cell.id, part, english).context
        if context in translations:
            start, end, rewrite = span
            source = source[:start] + rewrite(translations[context]) + source[end:]
    return source


# -- code cells: docstrings and comments --------------------------------------------------------

def _code_spans(cell: NotebookNode) -> list[tuple[str, str, tuple]]:
    """``(part, english, (start, end, rewrite))`` for each docstring and comment block, where
    ``source[start:end]`` is what ``rewrite(translation)`` replaces."""
    source = cell.source
    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError) as error:
        raise ValueError(f"cell {cell.id}: cannot read its code to find docstrings and comments "
                         f"({error}); fix the cell in solutions/") from None
    offsets = _line_offsets(source)
    spans = _docstrings(tree, tokens, offsets) + _comments(tokens, offsets, source)
    return sorted(spans, key=lambda item: item[2][0])


def _line_offsets(source: str) -> list[int]:
    """Offset of each line's first character (tokenize's rows count from 1)."""
    offsets, total = [0, 0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        offsets.append(total)
    return offsets


def _docstrings(tree: ast.Module, tokens: list, offsets: list[int]) -> list:
    owners = [node for node in ast.walk(tree)
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    strings = {token.start[0]: token for token in tokens if token.type == tokenize.STRING}
    spans = []
    for owner in owners:
        first = owner.body[0] if owner.body else None
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str) and first.lineno in strings):
            continue
        token = strings[first.lineno]
        literal = token.string
        prefix = re.match(r"[rRuU]*", literal).group()
        quote = literal[len(prefix):len(prefix) + 3]
        quote = quote if quote in ('"""', "'''") else quote[0]
        inner = literal[len(prefix) + len(quote):-len(quote)]
        indent = " " * token.start[1]
        start = offsets[token.start[0]] + token.start[1] + len(prefix) + len(quote)
        spans.append((f"doc:{owner.name}", _dedent(inner, indent),
                      (start, start + len(inner), _docstring_writer(prefix, quote, indent, owner.name))))
    return spans


def _dedent(inner: str, indent: str) -> str:
    """The docstring as a translator reads it: continuation lines without the code's indent."""
    lines = inner.split("\n")
    return "\n".join(lines[:1] + [line[len(indent):] if line.startswith(indent) else line.lstrip(" ")
                                  for line in lines[1:]])


def _docstring_writer(prefix: str, quote: str, indent: str, name: str):
    def rewrite(text: str) -> str:
        lines = text.split("\n")
        inner = "\n".join(lines[:1] + [indent + line if line.strip() or i == len(lines) - 2 else line
                                       for i, line in enumerate(lines[1:])])
        try:  # a translation must not end the string early or add an escape that breaks it
            ast.literal_eval(f"{prefix}{quote}{inner}{quote}")
        except (SyntaxError, ValueError) as error:
            raise ValueError(f"the translation of {name}'s docstring is not a valid string literal "
                             f"({error}); remove stray {quote} or backslashes from it") from None
        return inner
    return rewrite


def _comments(tokens: list, offsets: list[int], source: str) -> list:
    """Blocks of consecutive full-line comments, and inline comments, outside solution regions."""
    lines = source.split("\n")
    blocks: list[list] = []
    in_solution = False
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        if MARKER.match(token.string.strip()):
            in_solution = "BEGIN" in token.string
            continue
        if in_solution:
            continue
        row, col = token.start
        full_line = not lines[row - 1][:col].strip()
        last = blocks[-1] if blocks else None
        if (full_line and last and last[0][2] and last[-1][0].start[0] == row - 1
                and last[0][0].start[1] == col):
            last.append((token, row, full_line))
        else:
            blocks.append([(token, row, full_line)])
    spans = []
    for number, block in enumerate(blocks):
        first_token = block[0][0]
        prefix = COMMENT_PREFIX.match(first_token.string).group()
        english = "\n".join(COMMENT_PREFIX.sub("", token.string, count=1) for token, _, _ in block)
        start = offsets[first_token.start[0]] + first_token.start[1]
        end = offsets[block[-1][0].end[0]] + block[-1][0].end[1]
        separator = "\n" + " " * first_token.start[1] if block[0][2] else " "
        spans.append((f"comment:{number}", english,
                      (start, end, lambda text, p=prefix, s=separator: s.join(
                          p + line for line in text.split("\n")))))
    return spans
