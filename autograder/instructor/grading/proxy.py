"""T's side of the two processes: the grading kernel's bridge to S.

The worker rewrites the notebook T runs: its first cell starts the bridge,

    __bridge__ = start_bridge("/run/.../bridge.sock", "/run/.../cells.json", 10.0, 268435456)

and each cell the student wrote (every answer cell, each cell they added, each instructor cell
they edited) becomes ``__bridge__.run_cell(<index>)``. Its source (from ``cells.json``, written by
the worker) is sent to S with the data it reads from T's namespace; the names it binds in S come
back as data, or as ``protocol.Proxy`` handles, and are bound in T's namespace, where the
instructor's test cells use them unchanged. The printed text, warnings and figures of S are
shown in the cell that caused them.

When S was lost (a time limit, a crash), the next request first starts a fresh S and replays the
setup imports and every cell that ran before (their output is not shown again). Cells that were
lost themselves are not replayed: a cell that loops forever costs its own time limit once.
"""

from __future__ import annotations

import builtins
import copy
import json
import socket
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from autograder.instructor.grading.protocol import (
    CONTROL,
    MAX_DEPTH,
    REPLY,
    T_DICT,
    Channel,
    Endpoint,
    Proxy,
    StudentCodeError,
    is_claim_check,
    is_course_object,
    rebuild_error,
)
from autograder.instructor.grading.student_cells import bound_names, loop_variables, reads, written_names

# Values of these modules stay in T: the harness (checks, progress, torch_ref) and torch.
PRIVATE_MODULES = ("autograder.checks", "autograder.progress", "autograder.gradcheck", "autograder.torch_ref",
                   "autograder.selfcheck", "autograder.instructor", "autograder.diagrams", "torch", "IPython")
NOT_BOUND = ("(grading: the tests keep their own {names}; your cell's definition of that name is used "
             "by your own code only)")
T_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "display"})
STARTUP_LIMIT_S = 60.0  # importing numpy and matplotlib on a busy machine
MAX_COPY_DEPTH = MAX_DEPTH + 1
WARNING_TYPES = {cls.__name__: cls for cls in vars(builtins).values()
                 if isinstance(cls, type) and issubclass(cls, Warning)}


def start_bridge(socket_path: str, cells_path: str, call_limit: float, max_frame: int) -> Bridge:
    """Connect to the broker and start S with the setup imports (called by T's first cell)."""
    from IPython import get_ipython

    shell = get_ipython()
    namespace = shell.user_ns if shell is not None else sys.modules["__main__"].__dict__
    bridge = Bridge(socket_path, json.loads(Path(cells_path).read_text()), call_limit, max_frame, namespace)
    if shell is not None:  # what a test cell binds is never sent to S (Bridge.tainted)
        shell.events.register("pre_run_cell", bridge.before_cell)
        shell.events.register("post_run_cell", bridge.after_cell)
    bridge.before_request()
    return bridge


_FILTERS_SEEN: list[Any] = [None, False]  # the filters last looked at (kept alive), and the answer


def runtime_warnings_are_errors() -> bool:
    """Whether T's warning filters turn a RuntimeWarning into an error (``no_numpy_warnings``).

    Asked at every message to S; worked out again only when the filters changed (T's filters,
    IPython's and torch's, are a long list: 50 us a walk, against 1 us to compare the entries,
    which are the same objects until a filter is added or removed).
    """
    seen = tuple(warnings.filters)
    if seen != _FILTERS_SEEN[0]:
        answer = False
        for action, message, category, module, _ in warnings.filters:
            if issubclass(RuntimeWarning, category) and message is None and module is None:
                answer = action == "error"
                break
        _FILTERS_SEEN[:] = [seen, answer]
    return _FILTERS_SEEN[1]


def data_copy(value: Any, depth: int = 0) -> Any:
    """``value`` with its arrays and random generators copied (lists, tuples, dicts and sets rebuilt).

    Every array or generator that crosses is mirrored: S writing into its copy (``x[...] = 0``,
    ``rng.normal()``) writes into T's at the next message. A name S is given is T's data (a test's
    input, the generator a test draws from): S gets copies, so what S does to them stays in S."""
    kind = type(value)
    if depth > MAX_COPY_DEPTH:  # deeper than the wire allows: encode refuses it anyway
        return value
    if kind is np.ndarray:
        return value.copy()
    if kind is np.random.Generator:
        return copy.deepcopy(value)
    if kind in (list, tuple, set, frozenset):
        return kind(data_copy(item, depth + 1) for item in value)
    if kind is dict:
        return {key: data_copy(item, depth + 1) for key, item in value.items()}
    return value


ATOMS = (type(None), bool, int, str, bytes)  # shared by identity without aliasing (small ints, interning)


def parts(value: Any, depth: int = 0) -> list[Any]:
    """``value`` and what it holds as data crosses (items, an array's base arrays), atoms left out."""
    if isinstance(value, ATOMS) or depth > MAX_COPY_DEPTH:
        return []
    found = [value]
    if type(value) is np.ndarray:
        base = value.base
        while isinstance(base, np.ndarray):
            found.append(base)
            base = base.base
    elif type(value) in (list, tuple, set, frozenset):
        for item in value:
            found += parts(item, depth + 1)
    elif type(value) is dict:
        for item in value.values():
            found += parts(item, depth + 1)
    return found


def state_of(value: Any) -> Any:
    """A random generator's state (a test drawing from the instructor's generator moves it), else None."""
    if type(value) is np.random.Generator:
        return repr(value.bit_generator.state)
    if type(value) is np.random.RandomState:
        return repr(value.get_state(legacy=False))
    return None


def imported_by(value: Any, statement: str) -> bool:
    """Whether ``value`` (T's) is what the import ``statement`` binds: a module or an object of the
    package it names (``load_digits`` of ``from sklearn.datasets import load_digits``)."""
    words = statement.split()
    package = words[1].split(".")[0] if len(words) > 1 else ""
    module = value.__name__ if type(value).__name__ == "module" else getattr(value, "__module__", None)
    return type(module) is str and module.split(".")[0] == package


# S's own modules, whose frames sit between a learner's cell and the error it raised.
S_MODULES = ("student_process.py", "protocol.py")


def student_frames(error: BaseException) -> list[str] | None:
    """The traceback S reported for ``error`` (a note, protocol.rebuild_error), without S's own frames:
    what a learner's cell that failed in JupyterLab would show. None when S reported none."""
    header = "Traceback (most recent call last):"
    trace = next((note for note in getattr(error, "__notes__", ()) or () if type(note) is str
                  and (note.startswith((header, '  File "')) or '\n  File "' in note)), None)
    if trace is None:
        return None
    lines = trace.splitlines()
    if lines[0] != header:  # a deep trace: S sent only its last frames (describe_error)
        first = next(i for i, line in enumerate(lines) if line.startswith('  File "'))
        lines = [header, "  ...", *lines[first:]]
    kept: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith('  File "'):
            skipping = line.split('"')[1].rsplit("/", 1)[-1] in S_MODULES
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    return kept


class Bridge:
    """The hooks of T's endpoint, and the cells' entry point ``run_cell``."""

    def __init__(self, socket_path: str, cells: dict[str, Any], call_limit: float, max_frame: int,
                 namespace: dict[str, Any]) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(socket_path)
        channel = Channel(self.sock.fileno(), self.sock.fileno(), max_frame)
        self.endpoint = Endpoint(channel, "t", restricted=True, hooks=self)
        self.cells, self.call_limit, self.namespace = cells, call_limit, namespace
        self.ran: list[str] = []  # keys of cells.json that ran in this S, in order: replayed after a restart
        self.s_names: set[str] = set()  # names S binds (its setup imports, the student's definitions)
        # Names of S that a cell of T bound again since: a student's cell is given T's newer value (in
        # JupyterLab the last cell to bind a name wins), not S's older one (a demo's `params` in S).
        self.t_newer: set[str] = set()
        self.setup_names: frozenset[str] = frozenset()
        self.s_bound: dict[str, Any] = {}  # name -> the value S last bound there in T (``bindable``)
        # Worked out from the template (student_cells.instructor_names): the names of T a student's
        # cell may be given (bound by setup, locked and plain cells, never by a tests-only cell; and
        # never while T's value there is a test's: from_a_test), and the names S may never rebind
        # in T (bound by a setup, locked, test or tests-only cell; a plain cell's are S's to bind).
        self.sendable = frozenset(cells.get("sendable", ())) - T_NAMES
        self.protected = frozenset(cells.get("protected", ()))
        self.also = frozenset(cells.get("also", ()))  # the instructor's definitions S runs as well as T
        # A name a test cell binds may be bound by a locked cell too (chapter 2's X_train: a test's
        # own input, then the digits): its value is sent only if no test cell bound that value.
        self.test_sources = frozenset(cells.get("tests", ()))
        self.tainted: dict[str, Any] = {}  # name -> the value a test cell last bound there
        # The objects a test cell bound or wrote into (id -> object, kept alive so no id is reused): a
        # value that holds one (a locked cell's alias, list or view of a test's array) is not sent.
        self.test_objects: dict[int, Any] = {}
        # What a test's helper binds (``global``) when a later cell calls it is the test's too.
        self.tests_write = frozenset().union(*(written_names(s) for s in self.test_sources))
        self._before: dict[str, Any] | None = None  # T's namespace as the running cell found it
        self._states: dict[str, Any] = {}
        self._cell = ""
        self.needs_restart = True
        self.replaying = False
        # True while S runs the notebook's last code cell: a loop there is not followed by a fresh S
        # and a replay of every cell (protocol.Endpoint._request), since no later cell would use them.
        self.nothing_follows = False
        self.pending_warnings: list[Any] = []

    # ---- endpoint hooks
    def lost(self) -> None:
        self.needs_restart = True

    def before_request(self) -> None:
        if self.needs_restart and not self.replaying:
            self.restart()

    def extras_out(self) -> dict[str, Any]:
        return {"fp": {"errstate": dict(np.geterr()), "warnings_error": runtime_warnings_are_errors()}}

    def extras_in(self, body: dict[str, Any]) -> None:
        output = body.get("output")
        if self.replaying or type(output) is not dict:
            return
        for key, stream in (("stdout", sys.stdout), ("stderr", sys.stderr)):
            if type(output.get(key)) is str:
                stream.write(output[key])
        for png in output.get("figures", []) if type(output.get("figures")) is list else []:
            if type(png) is bytes and png.startswith(b"\x89PNG"):
                from IPython.display import Image, display

                display(Image(data=png, format="png"))
        for entry in output.get("warnings", []) if type(output.get("warnings")) is list else []:
            if type(entry) is list and len(entry) == 4:
                self.pending_warnings.append(entry)

    def after_reply(self) -> None:
        pending, self.pending_warnings = self.pending_warnings, []
        for kind, message, filename, lineno in pending:
            category = WARNING_TYPES.get(str(kind), UserWarning)
            line = lineno if type(lineno) is int else 0
            warnings.warn_explicit(str(message), category, str(filename), line)

    # ---- IPython's events around each cell T runs
    def before_cell(self, info: Any) -> None:
        if self._before is not None:  # the cell before ended without its event: its bindings first
            self.after_cell(None)
        self._cell = str(getattr(info, "raw_cell", None) or "")
        self._before = dict(self.namespace)
        self._states = {name: state_of(value) for name, value in self._before.items() if state_of(value)}

    def after_cell(self, result: Any) -> None:
        before, states, source = self._before, self._states, self._cell
        self._before, self._states, self._cell = None, {}, ""
        if before is None:  # the bridge's own first cell
            return
        missing = object()
        changed = {name for name, value in self.namespace.items() if before.get(name, missing) is not value}
        if not source.startswith(("__bridge__.run_cell(", "__bridge__.define_in_s(")):
            # a cell of T's own (not S's answers bound here, nor a definition S has its copy of)
            self.t_newer |= (changed & self.s_names) - self.setup_names
        if source in self.test_sources:  # a test: what it bound, wrote into or drew from is its own
            moved = {name for name, state in states.items()
                     if name in self.namespace and state_of(self.namespace[name]) != state}
            taken = changed | moved | (written_names(source) & self.namespace.keys())
        else:  # another cell: what a test's helper bound there (its ``global``), not the cell itself
            taken = (changed & self.tests_write) - bound_names(source)
        if not taken:
            return
        # What T held before under other names (and what that holds: a view's base) stays the instructor's.
        earlier = {id(part) for name, value in before.items() if name not in taken for part in parts(value)}
        for name in taken:
            value = self.namespace[name]
            self.tainted[name] = value
            for part in parts(value):
                if id(part) not in earlier:  # not the instructor's data a test only named
                    self.test_objects[id(part)] = part

    def from_a_test(self, name: str) -> bool:
        """Whether T's value of ``name`` is one a test cell bound (its input, its expected values), or
        holds one (an alias, a list of them, a view)."""
        value = self.namespace.get(name)
        if name in self.tainted and self.tainted[name] is value:
            return True
        return any(self.test_objects.get(id(part)) is part for part in parts(value))

    # ---- S's life
    def restart(self) -> None:
        """A fresh S: the setup imports, then every cell that ran, again (output not shown).

        A cell whose replay loses S again (it loops, or it crashes S) is left out, and the others
        are replayed into another fresh S: a cell costs its time limit once. Whatever stops the
        replay itself (an interruption, a setup that does not start), ``self.ran`` keeps every cell
        not yet replayed, so the next restart brings them back.
        """
        self.replaying = True
        pending = list(self.ran)
        try:
            while True:
                self._fresh_process()
                replayed = []
                for key in pending:
                    cell = self.cells["cells"][key]
                    try:
                        self._exec(cell["label"], cell["source"], bind=key not in self.also,
                                   limit=cell.get("limit", cell.get("allowed_limit")),  # as it first ran
                                   only=cell.get("bind"))
                    except Exception:  # it failed the first time too, or S was lost again
                        if self.needs_restart:
                            break
                    replayed.append(key)
                else:
                    return
                pending = replayed + pending[len(replayed) + 1:]
        finally:
            self.ran = pending
            self.replaying = False

    def _fresh_process(self) -> None:
        """Ask the broker for a fresh S and run the setup imports in it."""
        msgid = self.endpoint._next_msg
        self.endpoint._next_msg += 1
        self.endpoint.channel.write(CONTROL, msgid, {"op": "restart"})
        while True:  # frames of the S before (an interrupted call's answer) are dropped
            kind, got, _, body = self.endpoint.channel.read()
            if kind == REPLY and got == msgid:
                break
        if type(body.get("ok")) is not int:
            raise rebuild_error(body.get("error", {"type": "ProtocolError", "message": "no restart"}))
        self.endpoint.reset_peer(body["ok"])
        self.endpoint.loss_token = body.get("token") if type(body.get("token")) is str else None
        self.needs_restart = False
        setup = self._exec("setup imports", self.cells.get("setup", ""), bind=False,
                           limit=max(self.call_limit, STARTUP_LIMIT_S))
        self.s_names = set(setup)
        self.setup_names = frozenset(setup)  # S's own imports: T's setup cell binds them too

    def _exec(self, label: str, source: str, bind: bool, limit: float | None = None,
              quiet: bool = False, only: list[str] | None = None) -> dict[str, Any]:
        """Run ``source`` in S; what it bound comes back (only the names ``only`` lists, when
        given: S names the others), and is bound in T when ``bind`` and ``bindable``."""
        given, imports = {}, []
        for name in sorted(reads(source) - (self.s_names - self.t_newer)):
            # Only names the instructor's cells bind, never with a test's value (nor In, _ names)
            if name not in self.sendable or name not in self.namespace or name.startswith("_") \
                    or hasattr(builtins, name) or self.from_a_test(name):
                continue
            value = self.namespace[name]
            statement = (self.cells.get("imports") or {}).get(name)
            if type(statement) is str and imported_by(value, statement):  # a locked cell's import:
                imports.append(f"try:\n    {statement}\nexcept ImportError:\n    pass")  # S makes it
                continue
            if isinstance(value, Proxy):  # first: any other question would be a request to S
                if object.__getattribute__(value, "_p_id") >> 32 == self.endpoint.generation:
                    given[name] = self.endpoint.encode(value)  # else made by an S that was lost
                continue
            module = getattr(type(value), "__module__", "") or ""
            own = getattr(value, "__module__", "") if callable(value) else ""
            if type(value).__name__ == "module" or (any(
                    str(m).startswith(PRIVATE_MODULES) for m in (module, own or ""))
                    and not is_claim_check(value)):
                continue
            try:  # plain data; a handle only to the course's own functions and classes (History)
                # Never an instance a locked cell made: S could write into what a test then uses.
                definition = isinstance(value, type) or type(value).__name__ == "function"
                if definition and is_course_object(value):
                    given[name] = self.endpoint.encode(value)
                else:  # a copy: arrays and generators are mirrored, and T's must not change with S's
                    given[name] = self.endpoint.encode(data_copy(value), data_only=True)
            except (TypeError, ValueError):  # an object of T's (a widget class): S is not given it
                continue
        if imports:
            self._exec("imports", "\n".join(imports), bind=False, limit=max(self.call_limit, STARTUP_LIMIT_S))
        body = {"op": "exec", "label": label, "source": source,
                "globals": [T_DICT, -1, [part for name, node in given.items() for part in (name, node)]]}
        if only is not None:
            body["only"] = list(only)
        answer = self.endpoint.request(body, limit or self.call_limit)
        named = answer.get("named")
        named = {n for n in named if type(n) is str and n.isidentifier()} if type(named) is list else set()
        defined = {}
        for name, node in (answer.get("defined") or {}).items():
            if type(name) is str and name.isidentifier():
                defined[name] = self.endpoint.decode(node)
        if bind:
            kept = []
            for name, value in defined.items():
                if self.bindable(name):
                    self.namespace[name] = value
                    self.s_bound[name] = value
                else:
                    kept.append(name)
            kept = sorted(set(kept) - loop_variables(source))
            if kept and not self.replaying and not quiet:
                print(NOT_BOUND.format(names=", ".join(kept)))
        self.s_names |= set(defined) | named
        if not self.replaying:  # a replayed cell binds what S held before, T's later values stay newer
            self.t_newer -= set(defined) | named
        if answer.get("error"):
            raise rebuild_error(answer["error"])
        return defined

    def bindable(self, name: str) -> bool:
        """A name of S may be bound in T only if no instructor cell binds it (the harness, the
        setup's imports, a locked cell's helper: from the template), and T holds nothing there or
        the very value S last bound there (never once an instructor's cell rebound it)."""
        if name.startswith("_") or hasattr(builtins, name) or name in T_NAMES or name in self.protected:
            return False
        if name not in self.namespace:
            return True
        return name in self.s_bound and self.namespace[name] is self.s_bound[name]

    # ---- the cells
    def run_cell(self, key: int | str) -> None:
        """Run the student's cell ``key`` in S (called by the rewritten cell in T)."""
        if self.needs_restart:
            self.restart()
        cell = self.cells["cells"][str(key)]
        self.nothing_follows = str(key) == self.cells.get("last")
        for note in cell.get("notes", []):
            print(note)
        if type(cell.get("t_definitions")) is str:  # the instructor's functions a demo in T calls:
            # T's own copy, defined first (S's copy of the names is then not bound here)
            exec(compile(cell["t_definitions"], f"<{cell['label']}: definitions>", "exec"), self.namespace)
        try:
            # An instructor's demo has its "limit" (and no note to the student); a learner's cell that
            # the instructor let run past the per-cell limit (`make regrade ALLOW=`) its "allowed_limit".
            self._exec(cell["label"], cell["source"], bind=True,
                       limit=cell.get("limit", cell.get("allowed_limit")), quiet="limit" in cell,
                       only=cell.get("bind"))
        except Exception as error:
            if not self.needs_restart:  # a plain error: the cell's definitions before it count
                self.ran.append(str(key))
            shown = student_frames(error)
            if shown is None and isinstance(error, StudentCodeError):  # a loop stopped, S crashed: what
                # happened, not the bridge's frames in T, which are no part of the learner's code
                shown = [f"{type(error).__name__}: {error}", *getattr(error, "__notes__", ())]
            if shown is not None:  # IPython shows these instead of the bridge's own frames in T
                error._render_traceback_ = lambda: shown  # type: ignore[attr-defined]
            raise
        self.ran.append(str(key))

    def define_in_s(self, key: int | str) -> None:
        """Run the instructor's cell ``key`` in S as well (its classes, for the demos that run in S);
        T runs its own copy next, and keeps it: nothing S defines here is bound in T."""
        if self.needs_restart:
            self.restart()
        cell = self.cells["cells"][str(key)]
        try:
            self._exec(cell["label"], cell["source"], bind=False, limit=cell.get("limit"))
        except Exception:  # S's copy failed: the demos in S will say so; T's copy still runs
            if self.needs_restart:
                return
        self.ran.append(str(key))
