"""What comes back from a grading worker is untrusted: validate and normalise it before it is stored.

A worker's result (``{"record": Record.to_dict(), "notebook": JSON text or None}``) carries
text the student's code wrote: a kernel may send a lone surrogate, a string where a prompt
number belongs, a file name that is not UTF-8. The worker caps and escapes what it can; this
is the coordinator's second line (defence in depth), so that one submission's bytes cost that
submission only:

- every string becomes valid UTF-8 (a lone surrogate becomes U+FFFD); file names are shown
  with undecodable bytes escaped (``notes\\xff.txt``);
- a record's fields get their types (numbers are numbers, a score lies in ``[0, points]``),
  its student and chapter are the ones the coordinator sent, its status one of ``STATUSES``;
- prompt numbers are ints or nothing; a notebook that is still not a valid notebook, or is
  far over the output cap, is dropped (the record stays, and says so);
- the instructor's own markdown is restored where the worker HTML-escaped it.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.hints import HINT_CODES
from autograder.instructor.cells import nbgrader_meta
from autograder.instructor.grading.records import STATUSES, Record

_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_REASON = 2000
MAX_MESSAGE = 4000
# A graded notebook this much larger than the output cap holds more than the worker's cap
# allowed: it is not stored (the template and the student's sources fit well under it).
NOTEBOOK_SLACK_BYTES = 8_000_000


def clean_text(value: Any) -> str:
    """``value`` as a string that encodes to UTF-8: each lone surrogate becomes U+FFFD."""
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def shown_name(name: str) -> str:
    """A file name as read from disk, printable and UTF-8: undecodable bytes as ``\\xff``."""
    try:
        raw = os.fsencode(name)
    except UnicodeEncodeError:  # a lone surrogate that did not come from the file system
        return clean_text(name)
    return raw.decode("utf-8", "backslashreplace")


def clean_tree(value: Any) -> Any:
    """Every string in a JSON-like tree (keys included) made valid UTF-8."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_tree(v) for v in value]
    return value


def _number(value: Any, default: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def prompt_number(value: Any) -> int | None:
    """An execution count as nbformat wants it: a non-negative int, or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def finding(raw: Any) -> dict[str, Any]:
    """A policy violation or a piece of advice: ``cell``, ``line`` (an int), ``construct`` and
    ``message`` always there, with any other field kept only when its key and value are strings."""
    raw = raw if isinstance(raw, dict) else {}
    line = raw.get("line")
    extra = {k: v[:MAX_MESSAGE] for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
    return {**extra,
            "cell": str(raw.get("cell") or "")[:MAX_MESSAGE],
            "line": line if isinstance(line, int) and not isinstance(line, bool) and line >= 0 else 0,
            "construct": str(raw.get("construct") or "")[:MAX_MESSAGE],
            "message": str(raw.get("message") or "")[:MAX_MESSAGE]}


def normalise_record(raw: Any, student: str, chapter: str, submission_sha256: str,
                     release_sha256: str) -> Record:
    """A record with every field typed and cleaned; the identity fields are the coordinator's own.

    Raises ``ValueError`` when ``raw`` is not a record at all."""
    if not isinstance(raw, dict):
        raise ValueError(f"the worker returned a {type(raw).__name__}, not a record")
    raw = clean_tree(raw)
    status = raw.get("status") if raw.get("status") in STATUSES else "error"
    reason = str(raw.get("reason") or "")
    if raw.get("status") not in STATUSES:
        reason = f"the worker returned an unknown status {str(raw.get('status'))[:80]!r}. {reason}"
    record = Record(student, chapter, status=status, reason=reason[:MAX_REASON],
                    submission_sha256=submission_sha256, release_sha256=release_sha256,
                    sandboxed=bool(raw.get("sandboxed", True)),
                    seconds=round(_number(raw.get("seconds")), 2))
    for grade_id, test in _dict(raw.get("tests")).items():
        test = test if isinstance(test, dict) else {}
        points = max(0.0, _number(test.get("points")))
        record.tests[grade_id] = {"points": points,
                                  "score": min(points, max(0.0, _number(test.get("score")))),
                                  "message": str(test.get("message") or "")[:MAX_MESSAGE]}
        if test.get("hint") in HINT_CODES:  # a known code only: the report groups by it
            record.tests[grade_id]["hint"] = test["hint"]
        seconds = test.get("seconds")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds < 1e6:
            record.tests[grade_id]["seconds"] = float(seconds)
    for grade_id, answer in _dict(raw.get("answers")).items():
        answer = answer if isinstance(answer, dict) else {}
        record.answers[grade_id] = {"points": max(0.0, _number(answer.get("points"))),
                                    "text_sha256": str(answer.get("text_sha256") or "")}
    record.policy = [finding(v) for v in _list(raw.get("policy")) if isinstance(v, dict)]
    record.ignored_files = [shown_name(str(name)) for name in _list(raw.get("ignored_files"))]
    record.isolation = "two-process" if raw.get("isolation") == "two-process" else "kernel"
    record.advice = [finding(v) for v in _list(raw.get("advice")) if isinstance(v, dict)]
    restarts = raw.get("student_restarts")
    record.student_restarts = restarts if isinstance(restarts, int) and not isinstance(restarts, bool) else 0
    return record


def load_record(path: Path) -> Record | None:
    """The record stored at ``records/<chapter>/<student>.json``, checked as a worker's would be
    (an old record without the newer fields included); None when it cannot be read (a torn
    write from a crash: the next ``make grade`` grades that notebook again)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    student = raw.get("student") if isinstance(raw.get("student"), str) else path.stem
    chapter = raw.get("chapter") if isinstance(raw.get("chapter"), str) else path.parent.name
    record = normalise_record(raw, clean_text(student), clean_text(chapter),
                              clean_text(raw.get("submission_sha256") or ""),
                              clean_text(raw.get("release_sha256") or ""))
    # The instructor's decisions are the coordinator's own writing (a worker's are never taken).
    record.overrides = [{k: clean_text(v)[:MAX_MESSAGE] for k, v in entry.items()
                         if isinstance(k, str) and isinstance(v, str)}
                        for entry in _list(raw.get("overrides")) if isinstance(entry, dict)]
    return record


def normalise_notebook(text: Any, template: NotebookNode, output_bytes: int) -> tuple[str | None, str]:
    """``(notebook JSON text or None, why it was dropped)`` for a worker's autograded notebook."""
    if text is None:
        return None, ""
    if not isinstance(text, str):
        return None, f"the graded notebook came back as a {type(text).__name__}, not text; not stored"
    if len(text) > output_bytes + NOTEBOOK_SLACK_BYTES + 4 * len(json.dumps(template)):
        return None, (f"the graded notebook was {len(text) / 1e6:.0f} MB, over the output cap of "
                      f"{output_bytes / 1e6:g} MB; not stored")
    try:  # reads, not from_dict: it joins sources stored as lists of lines
        nb = nbformat.reads(json.dumps(clean_tree(json.loads(text))), as_version=4)
    except Exception as error:  # not JSON, or not a notebook at all (nbformat's NBFormatError)
        return None, f"the graded notebook cannot be read ({type(error).__name__}); not stored"
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["execution_count"] = prompt_number(cell.get("execution_count"))
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = prompt_number(output["execution_count"])
    restore_instructor_markdown(nb, template)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError:
        for cell in nb.get("cells", []):  # outputs are what a kernel controls: try without them
            if cell.get("cell_type") == "code":
                cell["outputs"] = []
        try:
            nbformat.validate(nb)
        except nbformat.ValidationError as error:
            first = (str(error).strip().splitlines() or ["invalid"])[0][:200]
            return None, f"the graded notebook is not a valid notebook ({first}); not stored"
        return nbformat.writes(nb), "its outputs were not valid nbformat and were left out"
    return nbformat.writes(nb), ""


def restore_instructor_markdown(nb: NotebookNode, template: NotebookNode) -> None:
    """Give back the template's own text to each instructor markdown cell the worker escaped.

    The worker HTML-escapes markdown the student may have edited; where the escaped text is
    exactly the escaped template text, the student did not change it, and it is the course's
    own markdown, shown as written (``z[z < 0]``, ``->``, maths with ``&``, blockquotes)."""
    own = {c.get("id"): c.source for c in template.cells
           if c.cell_type == "markdown" and c.get("id") and not nbgrader_meta(c).get("solution")}
    for cell in nb.cells:
        source = own.get(cell.get("id"))
        if cell.get("cell_type") == "markdown" and source is not None and cell.source != source \
                and cell.source == html.escape(source, quote=False):
            cell.source = source
