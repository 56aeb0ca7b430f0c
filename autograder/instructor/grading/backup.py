"""Timestamped copies of the gradebook, taken before anything rewrites it.

    backup_gradebook(Path("grading/gradebook.db"))  # -> grading/backups/gradebook-20261201-010203.db

The copy goes through sqlite's online backup API, so it is consistent even while
another connection (the formgrader) holds the database open: a plain file copy
could catch a half-written page. The last ``keep`` copies are kept.

    python -m autograder.instructor.grading.backup [grading/gradebook.db] [--keep 10]
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import time
from pathlib import Path

BACKUP_DIR = "backups"
KEEP = 10
_NAME = re.compile(r"^gradebook-(\d{8}-\d{6})(?:\.(\d+))?\.db$")


def backups(folder: Path) -> list[Path]:
    """The backups in ``folder``, oldest first (by timestamp, then by sequence number)."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match and path.is_file():
            found.append(((match.group(1), int(match.group(2) or 0)), path))
    return [path for _, path in sorted(found)]


def backup_gradebook(path: str | Path, keep: int = KEEP, now: float | None = None) -> Path | None:
    """Copy the sqlite gradebook at ``path`` to ``<its folder>/backups/gradebook-YYYYmmdd-HHMMSS.db``.

    Two backups within one second get ``.1``, ``.2``... before ``.db``. Older backups beyond
    the last ``keep`` are deleted. Returns the new backup, or None when there is no gradebook
    yet (nothing to lose).
    """
    path = Path(path)
    if not path.is_file():
        return None
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    folder = path.parent / BACKUP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = folder / f"gradebook-{stamp}.db"
    sequence = 0
    while target.exists():
        sequence += 1
        target = folder / f"gradebook-{stamp}.{sequence}.db"
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    partial.replace(target)  # a backup that exists is whole
    for old in backups(folder)[:-keep]:
        old.unlink()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Keep a timestamped copy of the gradebook.")
    parser.add_argument("gradebook", type=Path, nargs="?", default=Path("grading/gradebook.db"))
    parser.add_argument("--keep", type=int, default=KEEP, help=f"backups to keep (default {KEEP})")
    args = parser.parse_args(argv)
    target = backup_gradebook(args.gradebook, keep=args.keep)
    print(f"backup: {target}" if target else f"No gradebook at {args.gradebook}: nothing to back up.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
