"""The grading run's progress bar (tqdm): notebooks done of total, failures so far, time left."""

from __future__ import annotations

import sys

from autograder.instructor.grading.records import Record


class Progress:
    """A progress bar: notebooks done of total, failures so far, time left (tqdm's estimate)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="notebook", disable=not enabled or total == 0,
                        dynamic_ncols=True, file=sys.stderr)
        self.failures = 0

    def update(self, record: Record) -> None:
        if record.status != "graded":
            self.failures += 1
        self.bar.set_postfix(not_graded=self.failures, last=f"{record.student}/{record.chapter[:2]}",
                             refresh=False)
        if self.bar.n + 1 >= (self.bar.total or 0):
            self.bar.n += 1  # close() draws the 100 % line: once, not twice
        else:
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
