"""The instructor's decisions: a cell of one submission that runs as written when it did not.

A cell may not have run as the student wrote it: the one-kernel path's code policy refused it
(a false alarm is possible while the policy still decides), or it ran past its time limit. After
reading the student's code, an instructor decides it should run:

    make regrade STUDENT=ada CHAPTER=01_neural_network_basics ALLOW=sigmoid

That re-grades that one submission with the cell allowed: not refused by the policy (what the
policy found stays on the record, as advice) and not held to the per-cell time limit (the
notebook's own limit still holds). The decision, who made it and when, is kept in
``overrides.json`` beside the gradebook, applies to every later run while the submission is
unchanged (a new submission is graded as written), and is shown in the record, the gradebook's
comment on the cell and the feedback.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OVERRIDES = "overrides.json"


@dataclass(frozen=True)
class Override:
    """One instructor's decision on one submission."""

    student: str
    chapter: str
    cells: tuple[str, ...]  # the grade ids (or "cell N" labels) allowed to run as written
    by: str  # who decided
    at: str  # when, ISO 8601 in UTC
    submission_sha256: str  # the submission decided on; a changed submission is graded as written

    def entries(self) -> list[dict[str, Any]]:
        """The decision as the record keeps it: one entry per allowed cell."""
        return [{"cell": cell, "by": self.by, "at": self.at, "decision": "ran as written"}
                for cell in self.cells]


def _path(root: Path) -> Path:
    return Path(root) / OVERRIDES


def load_overrides(root: Path) -> dict[tuple[str, str], Override]:
    """``(student, chapter) -> Override`` from ``root/overrides.json`` (empty when there is none)."""
    path = _path(root)
    if not path.is_file():
        return {}
    found = {}
    for entry in json.loads(path.read_text(encoding="utf-8")):
        override = Override(**{**entry, "cells": tuple(entry["cells"])})
        found[(override.student, override.chapter)] = override
    return found


def save_override(root: Path, student: str, chapter: str, cells: list[str], submission_sha256: str,
                  by: str | None = None) -> Override:
    """Record the decision (replacing an earlier one on the same submission), atomically."""
    if not cells or not all(isinstance(c, str) and c.strip() for c in cells):
        raise ValueError("name the cell to allow by its grade id, e.g. ALLOW=sigmoid")
    override = Override(student, chapter, tuple(sorted({c.strip() for c in cells})), by or getpass.getuser(),
                        datetime.now(UTC).replace(microsecond=0).isoformat(), submission_sha256)
    known = load_overrides(root)
    known[(student, chapter)] = override
    path = _path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    rows = [{**asdict(o), "cells": list(o.cells)} for _, o in sorted(known.items())]
    tmp.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    tmp.replace(path)
    return override


def override_for(overrides: dict[tuple[str, str], Override], student: str, chapter: str,
                 submission_sha256: str) -> Override | None:
    """The decision that applies to this submission: made on these very bytes, else none."""
    override = overrides.get((student, chapter))
    return override if override is not None and override.submission_sha256 == submission_sha256 else None
