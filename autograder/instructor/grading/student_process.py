"""S, the student's process: a plain ``python -I -S`` that runs the student's cells and answers T.

    python -I -S student_process.py --lib DIR --site DIR --generation N --output-bytes N --max-frame N
        [--figures draw|none]

It is started by the broker (``broker.py``), in bubblewrap, with this file and ``protocol.py``
copied into a read-only library folder (``--lib``) next to a cut-down ``autograder`` package that
holds only the course library's modules of earlier chapters. Frames come on stdin and go out on
stdout; both are moved to private descriptors first, and descriptors 0, 1 and 2 then point at
/dev/null and a scratch file, so a ``print`` or an ``os.write(1, ...)`` of the student's code
cannot interleave with the protocol. S's own failure is written to the stderr it was started
with (the broker's log), kept on a private descriptor too.

What S has: the standard library, NumPy, matplotlib (Agg; figures come back as PNGs), msgpack,
the setup cell's plain imports. What it has not: IPython (so no magics, no ``In``, no
prefilter), torch, the ``autograder`` harness (checks, progress, torch_ref), the tests. Importing
one of those raises ``ModuleNotFoundError`` with a sentence saying why.

Standard library, numpy and msgpack only; never imported by the grader itself, only run.
"""

from __future__ import annotations
import __future__

import argparse
import builtins
import contextlib
import io
import linecache
import os
import signal
import sys
import warnings
from typing import Any

# The compiler flags of every __future__ feature: a cell's ``from __future__ import ...`` holds
# for the cells after it, as in IPython (and as in a module).
FUTURE_FLAGS = tuple(getattr(__future__, name).compiler_flag for name in __future__.all_feature_names)
BLOCKED = ("torch", "torchgen", "functorch", "triton", "IPython", "ipykernel", "ipywidgets", "nbgrader",
           "jupyter_client", "nbclient", "nbformat")
BLOCK_MESSAGE = ("No module named {name!r} at grading: your answers run with NumPy, matplotlib and the "
                 "standard library (and the course library of earlier chapters); the tests use PyTorch, "
                 "your code should not.")


class BlockedImports:
    """A meta path finder that refuses the modules S does not provide, with a clear message."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(BLOCK_MESSAGE.format(name=name), name=name)
        return None


class CappedText(io.TextIOBase):
    """A text stream that keeps at most ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit, self.parts, self.kept, self.cut = limit, [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if type(text) is not str:
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.cut += max(0, len(text) - max(room, 0))
        return len(text)

    def drain(self) -> str:
        text = "".join(self.parts)
        if self.cut:
            text += f"\n[... output cut: {self.cut} more characters]\n"
        self.parts, self.cut = [], 0
        return text


class Student:
    """The hooks of S's endpoint: run cells, capture output, apply T's floating-point settings."""

    def __init__(self, output_bytes: int) -> None:
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        self.stdout = CappedText(output_bytes)
        self.stderr = CappedText(output_bytes)
        self.warnings: list[list[Any]] = []
        self.output_bytes = output_bytes
        self.future_flags = 0  # the __future__ features the cells so far imported
        # Figures leave S when a cell ends (or a call from T returns), never in a frame S sends
        # while a cell runs (a call into T, a claim check): drawn then, a figure would come back
        # half made and closed, and the cell's later drawing would land on a new, empty figure.
        # ``plt.show()`` draws the open figures now and closes them, as Jupyter's inline backend.
        self.cells_running = 0
        self.shown: list[bytes] = []
        self.draw = True  # figures come back as PNGs (not for make check: --figures none)
        sys.stdout, sys.stderr = self.stdout, self.stderr
        warnings.showwarning = self._warning

    def _warning(self, message: Any, category: Any, filename: str, lineno: int, *rest: Any) -> None:
        if len(self.warnings) < 100:
            self.warnings.append([getattr(category, "__name__", "UserWarning")[:60], str(message)[:2000],
                                  str(filename)[:200], int(lineno)])

    def _printed(self) -> dict[str, str]:
        """What the student's code printed since the last frame, as text msgpack can pack (a lone
        surrogate replaced: packing it would raise)."""
        return {key: text.encode("utf-8", "replace").decode("utf-8")
                for key, stream in (("stdout", self.stdout), ("stderr", self.stderr))
                if (text := stream.drain())}

    def extras_out(self) -> dict[str, Any]:
        output: dict[str, Any] = self._printed()
        if self.warnings:
            output["warnings"], self.warnings = self.warnings, []
        figures = self._figures() if not self.cells_running else []
        if figures:
            output["figures"] = figures
        return {"output": output} if output else {}

    def last_words(self, channel: Any, protocol: Any) -> None:
        """SIGUSR1's handler: the broker is about to stop a call at its limit and asks for what the
        student's code printed and S has not sent yet (it goes with each frame S sends). Not while a
        frame is being written: the stream would be out of step."""
        if not channel.writing:
            channel.write(protocol.OUTPUT, 0, {"output": self._printed()})

    def _show_function(self) -> Any:
        """S's ``plt.show``: a plain function, since matplotlib sets ``show.__signature__`` when
        it picks its backend at the first figure (a bound method would refuse the attribute)."""

        def show(*args: Any, **kwargs: Any) -> None:
            self.shown.extend(self._draw_open_figures(self.output_bytes - sum(map(len, self.shown))))

        return show

    def _figures(self) -> list[bytes]:
        shown, self.shown = self.shown, []
        return shown + self._draw_open_figures(self.output_bytes - sum(map(len, shown)))

    def _draw_open_figures(self, budget: int) -> list[bytes]:
        """PNGs of the open figures, within ``budget`` bytes; the figures are closed."""
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return []
        if not self.draw:  # make check: nobody sees them (as T's template backend)
            pyplot.close("all")
            return []
        pngs = []
        for number in pyplot.get_fignums():
            buffer = io.BytesIO()
            try:
                pyplot.figure(number).savefig(buffer, format="png")
            except Exception as error:  # a broken figure: say so, keep the others
                self.stderr.write(f"a figure could not be drawn: {error}\n")
                continue
            if len(buffer.getvalue()) <= budget:
                pngs.append(buffer.getvalue())
                budget -= len(buffer.getvalue())
        pyplot.close("all")
        return pngs

    @contextlib.contextmanager
    def call_context(self, body: dict[str, Any]):
        """T's NumPy error state and RuntimeWarning filter, for the duration of the call."""
        import numpy as np

        settings = body.get("fp") if type(body.get("fp")) is dict else {}
        state = {k: v for k, v in (settings.get("errstate") or {}).items()
                 if k in ("divide", "over", "under", "invalid") and v in ("ignore", "warn", "raise", "call",
                                                                          "print", "log")}
        with np.errstate(**state), warnings.catch_warnings():
            warnings.showwarning = self._warning
            if settings.get("warnings_error"):
                warnings.simplefilter("error", RuntimeWarning)
            yield

    def compile(self, source: str, filename: str) -> Any:
        """Compile a cell with the __future__ features of the cells before it, and keep its own
        (what ``codeop.Compile`` does for IPython; not this file's own ``annotations``)."""
        code = compile(source, filename, "exec", flags=self.future_flags, dont_inherit=True)
        for flag in FUTURE_FLAGS:
            if code.co_flags & flag:
                self.future_flags |= flag
        return code

    def serve_exec(self, endpoint: Any, body: dict[str, Any]) -> dict[str, Any]:
        """Run one cell; answer with the names it bound (data, or handles to objects)."""
        source, label = body.get("source"), body.get("label")
        if type(source) is not str or type(label) is not str:
            raise ValueError("an exec request without its source")
        given = endpoint.decode(body.get("globals"))
        if type(given) is dict:
            self.namespace.update({k: v for k, v in given.items() if type(k) is str})
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:  # figures come back after the cell; Agg's show() would only warn
            pyplot.show = self._show_function()
        before = {name: id(value) for name, value in self.namespace.items()}
        filename = f"<{label}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        error = None
        self.cells_running += 1
        try:
            code = self.compile(source, filename)
            exec(code, self.namespace)
        except BaseException as raised:  # SystemExit too: the cell failed, S lives on
            error = raised
        finally:
            self.cells_running -= 1
        # T may want only some names (a demo of the instructor's): the others are only named
        only = body.get("only")
        wanted = {n for n in only if type(n) is str} if type(only) is list else None
        defined, named = {}, []
        for name, value in list(self.namespace.items()):
            if name.startswith("__") or type(value).__name__ == "module":
                continue
            if before.get(name) != id(value):
                if wanted is not None and name not in wanted:
                    named.append(name)
                    continue
                try:
                    defined[name] = endpoint.encode(value)
                except Exception:
                    continue
        if error is not None:
            from protocol import describe_error  # this file runs beside protocol.py, not as a package

            trace = describe_error(error)
            return {"defined": defined, "named": named, "error": trace}
        return {"defined": defined, "named": named}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", required=True)
    parser.add_argument("--site", required=True)
    parser.add_argument("--generation", type=int, default=1)
    parser.add_argument("--output-bytes", type=int, default=2 << 20)
    parser.add_argument("--max-frame", type=int, default=256 << 20)
    parser.add_argument("--figures", choices=("draw", "none"), default="draw")
    options = parser.parse_args(argv)
    read_fd, write_fd, log_fd = os.dup(0), os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    scratch = os.open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f".c-output-{options.generation}"),
                      os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(scratch, 1)
    os.dup2(scratch, 2)
    try:  # S's own failure, from its first import on: on its real stderr (the broker's log), then exit
        sys.path[:0] = [options.lib]
        sys.path.append(options.site)
        sys.meta_path.insert(0, BlockedImports())
        os.environ["MPLBACKEND"] = "Agg" if options.figures == "draw" else "template"
        import protocol  # noqa: E402 (on sys.path only now)

        student = Student(options.output_bytes)
        student.draw = options.figures == "draw"
        endpoint = protocol.Endpoint(protocol.Channel(read_fd, write_fd, options.max_frame), "s",
                                     generation=options.generation, hooks=student)
        signal.signal(signal.SIGUSR1, lambda number, frame: student.last_words(endpoint.channel, protocol))
        while True:
            try:
                kind, msgid, _, body = endpoint.channel.read()
            except protocol.StudentProcessLost:
                return
            if kind == protocol.REQUEST:
                endpoint.serve(msgid, body)
    except BaseException:
        import traceback

        os.write(log_fd, traceback.format_exc().encode("utf-8", "replace")[-8000:])
        raise

if __name__ == "__main__":
    main(sys.argv[1:])
