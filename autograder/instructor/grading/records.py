"""The verdict on one notebook, as it travels between the grading stages.

A worker returns plain data; ``boundary.normalise_record`` checks it and makes a ``Record``,
the one type the coordinator stores and the gradebook, the feedback, the CSVs, the class report
and the self-check read. On disk (``records/<chapter>/<student>.json``) a record is the JSON of
``to_dict``, as before this type existed; ``from_dict`` reads any record ever written, an old one
without the newer fields included (they take their defaults).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# What can become of a notebook: every record's status is one of these (boundary.py enforces it).
STATUSES = ("graded", "invalid", "timeout", "error", "missing", "crashed")


@dataclass
class Record:
    """The verdict on one notebook: what the gradebook, the feedback and the CSVs are built from."""

    student: str
    chapter: str
    status: str = "graded"
    reason: str = ""
    submission_sha256: str = ""
    release_sha256: str = ""
    sandboxed: bool = True
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> points, score, message
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> points, text_sha256
    policy: list[dict[str, Any]] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    isolation: str = "kernel"
    advice: list[dict[str, Any]] = field(default_factory=list)  # two-process: the policy, never a zero
    student_restarts: int = 0  # two-process: how often S was started again (time limit, crash)
    # the instructor's decisions (overrides.py): cell, by, at, decision; set by the coordinator only
    overrides: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """A record from its JSON form: fields it lacks (an older record) take their defaults, and
        keys this version does not know are left out. Untrusted data goes through
        ``boundary.normalise_record`` instead, which also checks every value's type."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def code_score(self) -> float:
        return float(sum(t["score"] for t in self.tests.values()))

    @property
    def max_code_score(self) -> float:
        return float(sum(t["points"] for t in self.tests.values()))

