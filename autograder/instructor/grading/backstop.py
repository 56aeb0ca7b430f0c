"""The coordinator's last limit: a notebook still being graded long after its own limits.

Every other limit lives inside the worker: a cell's, a call's into the student's process, the
notebook's (``worker.run_cells``). They bound the code the worker runs for the student. They do
not bound the worker itself: a kernel that never answers, a hung mount, a slow path in our own
code that a submission finds (review7 found a quadratic pattern that held a worker 15 s for 30,000
spaces). Without this file the coordinator waited on each task with no timeout, so one such
notebook stalled the whole class's batch.

``Backstop`` watches the tasks the Dask workers say they are executing: what each last told the
scheduler (its heartbeat, twice a second on a small cluster), read from the scheduler, which answers
even when a worker cannot. A worker too wedged to send heartbeats (a task holding its GIL) keeps its
last report, so the clocks of its tasks run on. A task still running on the
same worker ``notebook_timeout + BACKSTOP_MARGIN_S`` seconds after it was first seen there is
cancelled (so Dask does not run it again elsewhere) and its worker restarted by its nanny (which
ends the sandbox too: ``bwrap --die-with-parent``; a worker that does not close within 4 s is
killed). The coordinator records that notebook as ``timeout`` with a reason that says so, and the
batch goes on.

``render_on`` puts the feedback pass under the same watch: a page still rendering ``PAGE_LIMIT_S``
after it started, or whose worker died, becomes a page that says so (``feedback.unrendered_page``).

A task retried after its worker died starts its clock again on the new worker: each attempt gets
the whole limit. A worker without a nanny (an external ``--scheduler`` whose workers were started
without one) cannot be restarted from here: the task is still recorded and dropped from the batch,
and the warning names the worker to restart by hand.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

BACKSTOP_MARGIN_S = 300.0  # past the notebook's own limit: the kernel's start (up to 120 s), S's, scoring
POLL_S = 2.0  # how often the scheduler is asked what the workers execute
WAIT_S = 0.1  # between looks for finished tasks
PAGE_LIMIT_S = 300.0  # a feedback page renders in about a second; past this its worker is restarted


@dataclass
class Backstop:
    """Which tasks have run too long, and stopping them. ``limits``: a task's key -> its seconds."""

    client: Any
    limits: dict[str, float]
    clock: Callable[[], float] = time.monotonic
    seen: dict[tuple[str, str], float] = field(default_factory=dict)  # (key, worker) -> first seen running
    asked: float = float("-inf")
    answer: list[Any] | None = None  # [the workers' answer, or an exception], once it came

    def overdue(self) -> dict[str, str]:
        """Tasks past their limit: key -> the worker running it. Never waits: the scheduler is
        asked (``executing``: the tasks each worker runs, not those queued behind them) on a
        thread of its own at most once a ``POLL_S``, and its answer is read when it has come. A
        scheduler slow to answer delays only this look, not the coordinator's loop."""
        now = self.clock()
        if self.answer is None and now - self.asked >= POLL_S:
            self.asked, self.answer = now, []
            threading.Thread(target=self._ask, args=(self.answer,), daemon=True).start()
        if not self.answer:
            return {}
        answer, self.answer = self.answer[0], None
        return {} if isinstance(answer, BaseException) else self.look(answer, now)

    def _ask(self, into: list[Any]) -> None:
        def executing(dask_scheduler: Any) -> dict[str, list[str]]:
            # Run on the scheduler, which need not import this file: nested, so pickled by value.
            return {address: [str(task.key) for task in worker.executing]
                    for address, worker in dask_scheduler.workers.items()}

        try:
            into.append(self.client.run_on_scheduler(executing))
        except Exception as error:  # the cluster is closing: look again later
            into.append(error)

    def look(self, executing: dict[str, list[str]], now: float) -> dict[str, str]:
        """Given what each worker is executing ``now``, the tasks past their limit."""
        running = {(str(key), address) for address, keys in executing.items() for key in keys}
        # A task that stopped (done, or its worker died) is forgotten; on a new worker it starts again.
        self.seen = {pair: self.seen.get(pair, now) for pair in running}
        return {key: address for (key, address), since in self.seen.items()
                if key in self.limits and now - since > self.limits[key]}

    def stop(self, futures: list[Any], addresses: set[str]) -> list[str]:
        """Cancel ``futures`` (no retry elsewhere) and restart the workers running them; the
        addresses of workers that could not be restarted."""
        self.client.cancel(futures, force=True)
        failed = []
        for address in sorted(addresses):  # one at a time: distributed raises for the whole list
            try:
                status = self.client.restart_workers([address], raise_for_error=False)[address]
            except KeyError:  # it left the cluster since it was seen (it died): nothing to restart
                continue
            except Exception:  # no nanny (ValueError, whatever raise_for_error says), a lost scheduler
                status = "failed"
            if status != "OK":
                failed.append(address)
        return failed


def still_running(overdue: dict[str, str], pending: dict[str, Any]) -> dict[str, str]:
    """Of ``overdue``, those still pending and not done: the answer the backstop read is a moment
    old, and a task that finished since keeps its result."""
    return {key: address for key, address in overdue.items() if key in pending and not pending[key].done()}


def finished(client: Any, futures: list[Any], limits: dict[str, float]) -> Iterator[tuple[Any, bool]]:
    """``(future, False)`` for each of ``futures`` as it finishes (done, erred or cancelled), or
    ``(future, True)`` once the backstop stopped it: past ``limits[key]`` seconds on one worker, it
    was cancelled and its worker restarted. Every future comes out exactly once."""
    from distributed import as_completed

    backstop, done = Backstop(client, limits), as_completed(futures)
    pending = {future.key: future for future in futures}
    while pending:
        batch = done.next_batch(block=False)
        for future in batch:
            if pending.pop(future.key, None) is not None:  # not one the backstop already gave
                yield future, False
        overdue = still_running(backstop.overdue(), pending)
        if overdue:
            for address in backstop.stop([pending[key] for key in overdue], set(overdue.values())):
                print(f"warning: the Dask worker {address} could not be restarted (no nanny?) and may "
                      "still run a task the coordinator stopped: restart it by hand", file=sys.stderr)
            for key in overdue:
                yield pending.pop(key), True
        if not batch and pending:
            time.sleep(WAIT_S)


def render_on(client: Any):
    """``write_feedback``'s mapper on the cluster: a page that fails, or still renders
    ``PAGE_LIMIT_S`` after it started, becomes a page that says so (``feedback.unrendered_page``)."""
    from autograder.instructor.grading.feedback import unrendered_page

    def mapper(function: Any, pages: list[str]) -> list[str]:
        futures = client.map(function, pages, pure=False)
        page_of, texts = {f.key: page for f, page in zip(futures, pages)}, {}
        for future, stopped in finished(client, futures, {f.key: PAGE_LIMIT_S for f in futures}):
            try:
                texts[future.key] = (unrendered_page(page_of[future.key], "ran too long")
                                     if stopped else future.result())
            except Exception as problem:  # its worker died (KilledWorker)
                texts[future.key] = unrendered_page(page_of[future.key], type(problem).__name__)
            future.release()
        return [texts[future.key] for future in futures]

    return mapper


class Stuck(RuntimeError):
    """A notebook the backstop stopped; its message is the record's reason."""


def stuck_reason(seconds: float, notebook_timeout: float) -> str:
    """What the record of a notebook stopped by the backstop says."""
    return (f"grading this notebook had not ended {seconds:g} s after it started (the notebook's own "
            f"limit is {notebook_timeout:g} s), so its worker was stopped; nothing of it was scored. "
            "Grade it again alone to see where it stops, and report it: the grader's own limits "
            "should have stopped it")
