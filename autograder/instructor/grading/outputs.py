"""What a graded notebook may show, and what its test cells said: safe outputs, scores' messages.

- ``take_check_hints``: the hint code of each failed check (``exercise`` publishes one as
  ``application/vnd.backprop-lab.check+json``; ``autograder.hints`` reads it and drops the
  verdict outputs, so no page shows them), read before anything is capped;
- ``test_message``: a failing test cell's message, the check's own words, never the test's code;
- ``cell_seconds``: how long a cell ran (nbclient's timing), the report's grader time per exercise;
- ``make_outputs_safe``: every output reduced to text and images (an HTML output to its text),
  what the STUDENT wrote in markdown escaped (the course's own markdown is left as written), and
  the bytes shown capped.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from nbformat.notebooknode import NotebookNode

from autograder.hints import read_check_outputs
from autograder.instructor.cells import grade_id, is_answer, is_test

# Output types a page may show as they are; everything else is reduced to text.
SAFE_MIMETYPES = ("text/plain", "image/png", "image/jpeg")
MAX_MESSAGE_CHARS = 2000
TAG = re.compile(r"<[^>]*>")
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
REPR_OF_AN_OBJECT = re.compile(r"^<[\w.]+ object( at 0x[0-9a-f]+)?>$")
# What execute.CappedOutputs leaves where it dropped a cell's output as it arrived: a line per
# cell and stream, never cut again here (it is what tells the reader that output is missing).
STREAM_CUT_PREFIX = "\n[... output cut while the cell ran: "
STREAM_CUT_NOTE = STREAM_CUT_PREFIX + "{count} more bytes were not kept]\n"


def take_check_hints(nb: NotebookNode) -> dict[str, str]:
    """grade_id -> hint code of each test cell whose check failed with one; verdict outputs dropped."""
    hints = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code, cell.outputs = read_check_outputs(cell.get("outputs", []))
        if code and is_test(cell):
            hints[grade_id(cell)] = code
    return hints


def test_message(cell: NotebookNode) -> str:
    """A failing test cell's message: the check's own words, never the test's code."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
            return message[:MAX_MESSAGE_CHARS]
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "wrote to stderr (nbgrader scores that as a failure): " + "".join(output["text"])[:300]
    return ""


def cell_seconds(cell: NotebookNode) -> float | None:
    """How long the kernel took for a cell (nbclient's timing metadata), or None if not recorded."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    try:
        parse = datetime.fromisoformat
        return round(max(0.0, (parse(end.replace("Z", "+00:00"))
                               - parse(start.replace("Z", "+00:00"))).total_seconds()), 3)
    except ValueError:
        return None


def html_text(markup: str) -> str:
    """The text of an HTML output (tags dropped, entities decoded), for a page that shows no HTML."""
    text = html.unescape(TAG.sub(" ", SCRIPT_OR_STYLE.sub(" ", markup)))
    return re.sub(r"[ \t]+", " ", re.sub(r"\s*\n\s*", "\n", text)).strip()


def make_outputs_safe(nb: NotebookNode, max_bytes: int, student_written: set[int] | None = None) -> None:
    """Reduce every output to text and images, escape what the student wrote, cap the bytes shown.

    ``student_written``: indices of the cells the student wrote (``worker.merge``); their markdown
    is escaped, as are written answers. The instructor's markdown is never escaped.
    """
    budget = max_bytes
    written = student_written or set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and (is_answer(cell) or index in written):
            cell.source = html.escape(cell.source, quote=False)
        for output in cell.get("outputs", []):
            if "data" in output:
                data = output["data"]
                text = data.get("text/plain") or ""
                if isinstance(text, list):
                    text = "".join(text)
                markup = data.get("text/html")
                if markup and (not text or REPR_OF_AN_OBJECT.match(text.strip())):
                    text = html_text("".join(markup) if isinstance(markup, list) else str(markup)) or text
                if not text and set(data) - set(SAFE_MIMETYPES):
                    text = "(an HTML or script output, not shown in grading)"
                output["data"] = {k: v for k, v in data.items() if k in SAFE_MIMETYPES}
                if text:
                    output["data"]["text/plain"] = text
                output["metadata"] = {}
            budget = _cap(output, budget)


def _cap(output: NotebookNode, budget: int) -> int:
    text = output.get("text")
    if isinstance(text, str) and text.startswith(STREAM_CUT_PREFIX) and len(text) < 200:
        return budget  # the note that output was cut as it arrived: kept whole, whatever is left
    fields: list[tuple[str, Any]] = [("text", output)] if output.get("output_type") == "stream" else []
    if "data" in output:
        fields += [(k, output["data"]) for k in list(output["data"])]
    if output.get("output_type") == "error":
        fields += [("evalue", output)]
        output["traceback"] = [line[:2000] for line in output.get("traceback", [])[:60]]
    for key, holder in fields:
        value = holder[key]
        value = "".join(value) if isinstance(value, list) else str(value)
        size = len(value.encode(errors="replace"))
        if size <= budget:
            budget -= size
            continue
        keep = max(0, budget)
        cut = value.encode(errors="replace")[:keep].decode(errors="ignore")
        if key.startswith("image/"):
            holder.pop(key)
        else:
            holder[key] = cut + f"\n[... output cut: {size - keep} more bytes]"
        budget = 0
    return budget
