"""Notebook execution that does not stall after widget traffic.

nbclient waits for a cell's ``execute_reply`` with one long poll of the shell
channel. After a cell that talks to widgets (``interact`` sliders, tqdm's
notebook bar), that poll sometimes misses the reply and sleeps until the cell
timeout, although the kernel answered in half a second (jupyter/nbclient#312,
seen here in about one run in ten under load). Under nbgrader that is a false
"timed out" and a zero. Polling in one-second slices picks the reply up at the
next slice; the timeout itself is unchanged.
"""

from __future__ import annotations

import asyncio
import typing as t
from queue import Empty
from time import monotonic

from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.client import timestamp
from nbclient.exceptions import CellTimeoutError
from nbgrader.preprocessors import Execute

POLL_SLICE_S = 1.0


class SlicedShellPolling:
    """Mixin for an nbclient ``NotebookClient``: wait for replies in short polls."""

    async def _async_poll_for_reply(self, msg_id: str, cell: t.Any, timeout: int | None,
                                    task_poll_output_msg: asyncio.Future,
                                    task_poll_kernel_alive: asyncio.Future) -> dict:
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - monotonic()
            if remaining is not None and remaining <= 0:
                # nbclient's own handling of a timeout (interrupt, or raise), unchanged.
                return await super()._async_poll_for_reply(  # type: ignore[misc]
                    msg_id, cell, 0, task_poll_output_msg, task_poll_kernel_alive)
            slice_s = POLL_SLICE_S if remaining is None else min(POLL_SLICE_S, remaining)
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=slice_s))
            except Empty:
                await self._async_check_alive()
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if self.record_timing:
                cell["metadata"]["execution"]["shell.execute_reply"] = timestamp(msg)
            try:
                await asyncio.wait_for(task_poll_output_msg, self.iopub_timeout)
            except (TimeoutError, Empty):
                if self.raise_on_iopub_timeout:
                    task_poll_kernel_alive.cancel()
                    raise CellTimeoutError.error_from_timeout_and_cell(
                        "Timeout waiting for IOPub output", self.iopub_timeout, cell
                    ) from None
                self.log.warning("Timeout waiting for IOPub output")
            task_poll_kernel_alive.cancel()
            return msg


class RobustNotebookClient(SlicedShellPolling, NotebookClient):
    """``nbclient.NotebookClient`` with sliced polling (``make execute``, ``make benchmark``)."""


class RobustExecute(SlicedShellPolling, Execute):
    """nbgrader's ``Execute`` preprocessor with sliced polling (autograde and validate)."""
