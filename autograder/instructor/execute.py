"""Notebook execution that does not stall after widget traffic, and keeps a cell's output bounded.

nbclient waits for a cell's ``execute_reply`` with one long poll of the shell
channel. After a cell that talks to widgets (``interact`` sliders, tqdm's
notebook bar), that poll sometimes misses the reply and sleeps until the cell
timeout, although the kernel answered in half a second (jupyter/nbclient#312,
seen here in about one run in ten under load). Under nbgrader that is a false
"timed out" and a zero. Polling in one-second slices picks the reply up at the
next slice; the timeout itself is unchanged.

A cell that prints a gigabyte must not cost a gigabyte, let alone three, in the process that
runs the notebook: ``CappedOutputs`` counts each cell's output as its messages arrive and keeps
at most ``output_cap_bytes`` of it. Past the cap, printed text and displays are dropped, and one
note per stream, updated as more comes, says how much was cut. Errors and the checks' hints are
always kept, and text on stderr always leaves a stderr note, so a test cell scores as it would
have (nbgrader fails a cell with an error or any stderr output).
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
from nbformat import NotebookNode
from nbformat.v4 import new_output
from traitlets import Integer

from autograder.hints import CHECK_MIMETYPE
from autograder.instructor.grading.outputs import STREAM_CUT_NOTE

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


def message_bytes(msg_type: str, content: dict[str, t.Any]) -> int:
    """The size of an output message's text and data, in UTF-8 bytes."""
    if msg_type == "stream":
        parts = [content.get("text", "")]
    elif msg_type == "error":
        parts = [content.get("evalue", ""), *content.get("traceback", [])]
    else:
        parts = list((content.get("data") or {}).values())
    return sum(len(part.encode("utf-8", "replace")) if isinstance(part, str) else len(str(part))
               for part in parts)


class CappedOutputs:
    """Mixin for an nbclient ``NotebookClient``: at most ``output_cap_bytes`` of output kept per cell,
    counted as each message arrives (None: no cap)."""

    output_cap_bytes: int | None

    def output(self, outs: list[NotebookNode], msg: dict[str, t.Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        cap = self.output_cap_bytes
        msg_type = msg["msg_type"]
        # An error is a test cell's verdict, a check's hint its reason (a few bytes): both kept.
        if cap is None or msg_type == "error" or CHECK_MIMETYPE in (msg["content"].get("data") or {}):
            return super().output(outs, msg, display_id, cell_index)  # type: ignore[misc]
        counted = self.__dict__.setdefault("_output_counted", {})
        size = message_bytes(msg_type, msg["content"])
        kept = counted.get(cell_index, 0)
        counted[cell_index] = kept + size
        if kept + size <= cap:
            return super().output(outs, msg, display_id, cell_index)  # type: ignore[misc]
        room = max(0, cap - kept)
        if msg_type == "stream" and room:  # the part that fits, then the note
            content = msg["content"]
            head = content["text"].encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
            super().output(outs, {**msg, "content": {**content, "text": head}},  # type: ignore[misc]
                           display_id, cell_index)
            size -= room
        name = msg["content"].get("name") if msg_type == "stream" else "stdout"
        self._note_cut(outs, cell_index, name if name in ("stdout", "stderr") else "stdout", size)
        return None

    def _note_cut(self, outs: list[NotebookNode], cell_index: int, name: str, size: int) -> None:
        """One note per cell and stream, its count updated in place as more is dropped."""
        notes = self.__dict__.setdefault("_output_cut_notes", {})
        note, count = notes.get((cell_index, name), (None, 0))
        count += size
        if note is None or not any(out is note for out in outs):  # none yet, or cleared since
            note = new_output("stream", name=name, text="")
            outs.append(note)
        note["text"] = STREAM_CUT_NOTE.format(count=count)
        notes[(cell_index, name)] = (note, count)


class RobustNotebookClient(SlicedShellPolling, CappedOutputs, NotebookClient):
    """``nbclient.NotebookClient`` with sliced polling (``make execute``, ``make benchmark``, grading)
    and, when ``output_cap_bytes`` is set, each cell's output capped as it arrives (grading)."""

    output_cap_bytes = Integer(None, allow_none=True,
                               help="bytes of output kept per cell; the rest is dropped as it arrives")
