"""The printed tables of the stored Chinese builds line up in a monospace font (issue #23).

A format spec such as ``f"{tr(name):24s}"`` counts characters, but a Chinese character takes two columns,
so a table whose cells hold translated text drifts by one column for every Chinese character of its label.
The solutions pad such cells with ``autograder.i18n.pad_text`` (display width); this test reads the
executed Chinese builds (tests/fixtures/editions/zh/, ``executed_editions execute``) and checks, table by
table, that a column ends (or starts) at the same display column on every row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograder.i18n import display_width

ROOT = Path(__file__).resolve().parents[1]
EDITION = ROOT / "tests" / "fixtures" / "editions" / "zh"

TOKEN = r"\S+"
CELL_END = r"\S+(?= {2,}|$)"  # the last word before a gutter of two or more spaces
NUMBER = r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]\d+)?"
SPACED_NUMBER = r"(?<!\S)\d+(?:\.\d+)?(?!\S)"  # a number between spaces, not the 32 of a label's "，32 个"


class Table:
    """The lines a cell prints (``lines``: a slice of them) whose matches of ``pattern`` (``columns``: a
    slice of them, the table's columns) must all end at the same display column (``edge="end"``: a
    right-aligned column or the end of a padded label's neighbor) or start there (``edge="start"``)."""

    def __init__(self, cell: str, *, lines: slice = slice(None), pattern: str = TOKEN,
                 columns: slice = slice(None), edge: str = "end") -> None:
        self.cell, self.lines, self.columns, self.edge = cell, lines, columns, edge
        self.pattern = re.compile(pattern)

    def positions(self, line: str) -> list[int]:
        """The display columns where the table's columns of ``line`` end (or start)."""
        matches = list(self.pattern.finditer(line))[self.columns]
        return [display_width(line[:match.end() if self.edge == "end" else match.start()])
                for match in matches]


# chapter -> the tables whose cells hold translated text (tr(...) or a label shown through tr)
TABLES = {
    "02_deep_learning": [
        Table("cell-014", pattern=r"\|", edge="start"),  # depth: deep | shallow | random units and pieces
        Table("data_hunger", pattern=SPACED_NUMBER, columns=slice(0, 6)),  # model: accuracy per data size
    ],
    "03_backprop_principle": [
        Table("cost_of_backward", pattern=CELL_END, columns=slice(-4, None)),  # network: FLOPs and ratios
    ],
    "04_backprop_in_practice": [
        Table("cell-072", pattern="80 步后", edge="start"),  # optimizer: f after 80 steps
        Table("cell-076", pattern="第 1 层", edge="start"),  # initialization: layer 1 / layer 10
        Table("cell-084", lines=slice(0, 6), pattern="第 1 层后", edge="start"),  # unit, init: std after ...
        Table("cell-091", pattern="互不相同", edge="start"),  # initialization: distinct hidden units
        Table("cell-106", lines=slice(1, None), pattern=r"\d+(?= 步，)", columns=slice(0, 1)),  # clipping
    ],
    "05_training_and_tuning": [
        Table("cell-005", lines=slice(1, None), columns=slice(-4, None)),  # feature: mean ..., std ...
        Table("cell-057", pattern=NUMBER, columns=slice(-4, None)),  # schedule: validation loss ...
        Table("cell-064c", pattern=NUMBER, columns=slice(-3, None)),  # batch size, steps, loss after ...
        Table("cell-100", columns=slice(-3, None)),  # the remedies: training loss, validation loss, acc
    ],
    "06_whats_next": [
        Table("timings_epoch", pattern="每轮", edge="start"),  # implementation: ms per epoch
        Table("cell-058", lines=slice(2, None), pattern=NUMBER),  # transfer: accuracy per label count
        Table("cell-065", pattern=NUMBER),  # linear probe: accuracy per label count
        Table("cell-070", pattern="：最后", edge="start"),  # REINFORCE with and without a baseline
    ],
}


def _printed(chapter: str, cell_id: str) -> list[str]:
    """The lines that cell ``cell_id`` of the stored Chinese build of ``chapter`` printed on stdout."""
    notebook = json.loads((EDITION / chapter / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    cells = [cell for cell in notebook["cells"] if cell.get("id") == cell_id]
    assert cells, f"{chapter}: no cell {cell_id!r} in the stored Chinese build (did the cell's id change?)"
    text = "".join("".join(output.get("text", "")) for output in cells[0].get("outputs", [])
                   if output.get("output_type") == "stream" and output.get("name") == "stdout")
    return text.splitlines()


@pytest.mark.parametrize(("chapter", "table"),
                         [(chapter, table) for chapter, tables in TABLES.items() for table in tables],
                         ids=lambda value: value if isinstance(value, str) else value.cell)
def test_a_printed_table_of_a_chinese_build_lines_up(chapter: str, table: Table) -> None:
    lines = _printed(chapter, table.cell)[table.lines]
    assert len(lines) >= 2, (f"{chapter} {table.cell}: the stored Chinese build printed {len(lines)} table "
                             "line(s); expected a table of two or more (run executed_editions execute)")
    assert re.search(r"[\u4e00-\u9fff]", "".join(lines)), (
        f"{chapter} {table.cell}: the table has no Chinese text, so it cannot test the padding: {lines}")
    positions = {line: table.positions(line) for line in lines}
    assert len({tuple(columns) for columns in positions.values()}) == 1, (
        f"{chapter} {table.cell}: the columns {table.edge} at different display columns on different rows "
        "(a CJK character takes two columns; pad translated cells with autograder.i18n.pad_text, not a "
        "format spec):\n" + "\n".join(f"  {columns}  {line}" for line, columns in positions.items()))
