"""The rule for a student id: what a submission folder and a roster row may be called.

An id becomes a folder name (``autograded/<id>/``, ``return/<id>/``), part of nbgrader's glob
patterns and a gradebook key, so it must be safe there; beyond that, it is the student's
name as the school writes it. The rule:

- 1 to 64 characters, NFC-normalised (a folder written as ``Jose`` + a combining accent on a
  Mac is the same student as ``José``);
- Unicode letters and digits (with their combining marks), and ``. _ @ + -``;
- starting with a letter or a digit: never ``.`` or ``..``, never a hidden folder.

Refused, with the reason: path separators, glob characters (``* ? [ ]``), whitespace,
control characters, quotes and every other punctuation, and names that are not UTF-8.
"""

from __future__ import annotations

import os
import unicodedata

MAX_LENGTH = 64
PUNCTUATION = "._@+-"
RULE = (f"an id is 1 to {MAX_LENGTH} Unicode letters or digits and {' '.join(PUNCTUATION)}, "
        "starting with a letter or a digit (it becomes a folder name and an nbgrader glob pattern)")
_NAMED = {"/": "a path separator '/'", "\\": "a path separator '\\'", "*": "a glob character '*'",
          "?": "a glob character '?'", "[": "a glob character '['", "]": "a glob character ']'"}


def normalise_id(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def _allowed(char: str, first: bool) -> bool:
    category = unicodedata.category(char)
    if category in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd"):
        return True
    if first:
        return False
    return category in ("Mn", "Mc") or char in PUNCTUATION


def _describe(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if char.isspace():
        return f"whitespace ({unicodedata.name(char, hex(ord(char)))})"
    if unicodedata.category(char) == "Cc":
        return f"a control character ({ord(char):#04x})"
    if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte that is not UTF-8, as Python reads a file name
        return f"a byte that is not UTF-8 ({ord(char) - 0xDC00:#04x})"
    return f"{char!r} ({unicodedata.name(char, 'unnamed').lower()})"


def shown(name: str) -> str:
    """The name as one can print it: undecodable bytes escaped, quotes around it."""
    try:
        text = os.fsencode(name).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        text = name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return repr(text)


def id_problem(name: str) -> str | None:
    """Why ``name`` (NFC-normalised first) is not a student id, or None when it is one."""
    student_id = normalise_id(name)
    if not student_id:
        return f"the id is empty; {RULE}"
    if len(student_id) > MAX_LENGTH:
        return f"the id {shown(name)} has {len(student_id)} characters; {RULE}"
    for index, char in enumerate(student_id):
        if not _allowed(char, index == 0):
            where = "starts with" if index == 0 else "contains"
            return f"the id {shown(name)} {where} {_describe(char)}; {RULE}"
    return None
