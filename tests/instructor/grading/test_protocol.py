"""The wire between T and S (protocol.py): only data crosses, objects stay home behind handles.

Two endpoints over a socket pair, S's served by a thread: no sandbox, no broker, fast.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import msgpack
import numpy as np
import pytest

from autograder.instructor.grading import protocol
from autograder.instructor.grading.protocol import (
    HEADER,
    REQUEST,
    T_ARRAY,
    T_HANDLE,
    Channel,
    Endpoint,
    ProtocolError,
    Proxy,
    StudentCodeError,
)


class ExecHooks:
    """S's side for these tests: run a source, answer with the names it bound."""

    def __init__(self) -> None:
        self.namespace: dict = {"__name__": "__main__", "np": np}

    def serve_exec(self, endpoint: Endpoint, body: dict) -> dict:
        given = endpoint.decode(body.get("globals"))
        self.namespace.update(given or {})
        before = dict(self.namespace)
        exec(body["source"], self.namespace)
        return {"defined": {k: endpoint.encode(v) for k, v in self.namespace.items()
                            if not k.startswith("__") and before.get(k) is not v}}


def serve_until_closed(endpoint: Endpoint) -> None:
    """S's loop for these tests: serve each request until the socket closes."""
    while True:
        try:
            kind, msgid, _, body = endpoint.channel.read()
        except protocol.StudentProcessLost:
            return
        if kind == REQUEST:
            endpoint.serve(msgid, body)


@pytest.fixture
def pair():
    left, right = socket.socketpair()
    t = Endpoint(Channel(left.fileno(), left.fileno(), 1 << 26), "t", restricted=True)
    s = Endpoint(Channel(right.fileno(), right.fileno(), 1 << 26), "s", hooks=ExecHooks())

    failures: list[BaseException] = []

    def serve() -> None:
        try:
            serve_until_closed(s)
        except BaseException as error:  # T's read then ends: the test fails instead of hanging
            failures.append(error)
            right.shutdown(socket.SHUT_RDWR)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def run(source: str, **given) -> dict:
        answer = t.request({"op": "exec", "source": source, "globals": t.encode(given)})
        return {name: t.decode(node) for name, node in answer["defined"].items()}

    yield t, s, run
    left.shutdown(socket.SHUT_RDWR)  # S's read sees the end, its thread returns
    thread.join(timeout=60)
    # Closing the sockets under a thread that still reads them would give their numbers to the next
    # test's pair, and two threads would read one stream (a test once hung in CI, unexplained).
    assert not thread.is_alive(), "S's thread still serves 60 s after the test; its sockets are left open"
    left.close()
    right.close()
    if failures:
        raise failures[0]


def roundtrip(endpoint: Endpoint, value):
    """``value`` as the other side reads it: a value that became a handle is a Proxy there (decoded by
    the side that made it, a handle is the very object, and the test could not fail)."""
    node = endpoint.encode(value)
    assert type(node) is not list or node[0] != T_HANDLE, f"{value!r} crossed as a handle, not as data"
    peer = Endpoint(Channel(-1, -1, 1 << 20), "s" if endpoint.side == "t" else "t")
    return peer.decode(msgpack.unpackb(msgpack.packb(node, use_bin_type=True), raw=False))


@pytest.mark.parametrize("value", [
    None, True, 0, -3, 2**70, -(2**80), 1.5, float("inf"), "text é", b"\x00\xff", (1, "a"), [1, [2.0]],
    {1: "a", (2, 3): [4], "k": None}, {1, 2}, frozenset({"x"}), 2 + 3j, slice(1, None, 2), Ellipsis,
    np.float64(0.1), np.int32(-7), np.bool_(True), np.uint8(255), float, np.float64,
])
def test_plain_data_crosses_as_itself(value):
    endpoint = Endpoint(Channel(-1, -1, 1 << 20), "t")
    back = roundtrip(endpoint, value)
    assert type(back) is type(value) and (back == value or back is value), (value, back)


def test_arrays_keep_dtype_shape_and_values():
    endpoint = Endpoint(Channel(-1, -1, 1 << 20), "t")
    other = Endpoint(Channel(-1, -1, 1 << 20), "s")
    for array in [np.arange(6.0).reshape(2, 3), np.array([True, False]), np.zeros((0, 4), np.int16),
                  np.arange(10)[::3], np.asfortranarray(np.ones((3, 2), np.float32)), np.array(3.5)]:
        back = other.decode(endpoint.encode(array))
        assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
        assert np.array_equal(back, array) and back.flags.writeable


def test_objects_that_are_not_data_become_handles():
    class Lying(np.ndarray):
        def __eq__(self, other):
            return True

    endpoint = Endpoint(Channel(-1, -1, 1 << 20), "s")
    for value in [np.array([object()]), np.zeros(2).view(Lying), lambda: 1, type("K", (), {})(),
                  np.array([("a", 1)], dtype=[("x", "U1"), ("y", "i4")])]:
        node = endpoint.encode(value)
        assert node[0] == T_HANDLE, value


@pytest.mark.parametrize("node", [
    [99, 1], [T_ARRAY, 2, "|O", [1], b"\x00" * 8], [T_ARRAY, 2, "<f8", [2], b"\x00" * 8],
    [T_ARRAY, 2, "<f8", [-1], b""], [T_HANDLE, "t", 12345, "x"], [T_HANDLE, "x", 1, "y"], {"a": 1},
    [protocol.T_NPFUNC, "lib"], [protocol.T_TYPE, "os.system"],
    [protocol.T_SCALAR, "<f8", b"\x00" * 4], [protocol.T_BIGINT, "9" * 4100],
    [T_ARRAY, 2, "(2,)<f8", [1], b"\x00" * 16], [T_ARRAY, 2, "<f8", [1] * 33, b"\x00" * 8],
    [protocol.T_SET, False, [[T_HANDLE, "s", 1, "Box"]]],
    [protocol.T_DICT, -1, [[T_HANDLE, "s", 1, "Box"], 1]],
])
def test_decode_refuses_what_is_not_plain_data(node):
    endpoint = Endpoint(Channel(-1, -1, 1 << 20), "t")
    with pytest.raises((ProtocolError, protocol.StaleHandle)):
        endpoint.decode(node)


def test_calls_attributes_operators_and_identity(pair):
    t, s, run = pair
    names = run("def double(x):\n    return 2 * x\n"
                "class Box:\n    def __init__(self, v):\n        self.v = v\n"
                "    def __add__(self, other):\n        return Box(self.v + other)\n"
                "    def __len__(self):\n        return 3\n"
                "    def same(self):\n        return self\n")
    double, box_class = names["double"], names["Box"]
    assert isinstance(double, Proxy) and double.__module__ == "__main__" and double.__name__ == "double"
    np.testing.assert_array_equal(double(np.arange(3.0)), [0.0, 2.0, 4.0])
    box = box_class(5)
    assert type(box).__name__ == "Box" and box.v == 5 and len(box) == 3
    assert (box + 2).v == 7 and box.same() is box
    box.v = 9
    assert box.v == 9
    assert isinstance(box, box_class)


def test_arrays_stay_in_sync_across_calls_and_objects(pair):
    t, s, run = pair
    names = run("class SGD:\n    def __init__(self, params, lr):\n        self.params, self.lr = params, lr\n"
                "    def step(self, grads):\n        for k, p in self.params.items():\n"
                "            p -= self.lr * grads[k]\n"
                "def same(x):\n    return x\n"
                "def mutate(x, items, rng):\n    x[0] = 99.0\n    items.append(1)\n    rng.random()\n")
    W = np.ones((2, 3))
    params = {"W": W}
    optimizer = names["SGD"](params, 0.5)
    optimizer.step({"W": np.ones((2, 3))})
    assert params["W"] is W and np.array_equal(W, np.full((2, 3), 0.5)), W
    assert names["same"](W) is W, "an array that comes back is the caller's own"
    x, items, rng = np.zeros(2), [], np.random.default_rng(0)
    expected = np.random.default_rng(0)
    expected.random()
    names["mutate"](x, items, rng)
    assert x[0] == 99.0 and items == [1] and rng.random() == expected.random()
    table = {"keep": 1, "drop": 2}
    run("def forget(d):\n    del d['drop']\n")["forget"](table)
    assert table == {"keep": 1}, "a key the callee deleted is gone from the caller's dict too"


def test_a_change_in_the_last_bytes_of_a_large_array_is_seen():
    """Large arrays are compared 8 bytes at a time, then the bytes left over: a bool array of
    65,537 bytes changed in its last one must still be sent."""
    flags = np.zeros(protocol.SMALL_ARRAY_BYTES + 1, dtype=bool)
    kept = protocol.snapshot(flags)
    assert protocol.unchanged(flags, kept)
    flags[-1] = True
    assert not protocol.unchanged(flags, kept)


def test_errors_keep_builtin_types_and_callbacks_run_at_home(pair):
    t, s, run = pair
    names = run("def bad(x):\n    raise ValueError('no ' + str(x))\n"
                "class Mine(Exception):\n    pass\n"
                "def mine():\n    raise Mine('custom')\n"
                "def twice(f, x):\n    return f(f(x))\n")
    with pytest.raises(ValueError, match="no 3"):
        names["bad"](3)
    with pytest.raises(StudentCodeError, match="Mine: custom"):
        names["mine"]()
    calls = []
    assert names["twice"](lambda v: calls.append(v) or v + 1, 1) == 3 and calls == [1, 2]

    def raising(_):
        raise KeyError("from T")

    with pytest.raises(KeyError):  # S's code saw T's KeyError, did not catch it: it comes back as one
        names["twice"](raising, 0)


def test_the_student_side_cannot_reach_private_attributes_or_modules_of_t(pair):
    t, s, run = pair
    names = run("def peek(f):\n    return f.__globals__\n"
                "def call_attr(obj):\n    return obj.public()\n"
                "def reach(obj):\n    return obj.np\n")

    class Holder:
        np = np

        def public(self):
            return 42

    Holder.__module__ = "__main__"  # a class of the instructor's notebook: S may use its attributes
    with pytest.raises(AttributeError, match="private"):
        names["peek"](lambda: 0)
    assert names["call_attr"](Holder()) == 42
    with pytest.raises(TypeError, match="module"):
        names["reach"](Holder())


def test_a_generator_advanced_later_in_a_generator_function_advances_the_callers(pair):
    t, s, run = pair
    names = run("def batches(rng):\n    for _ in range(2):\n        yield rng.permutation(4)\n")
    rng, twin = np.random.default_rng(11), np.random.default_rng(11)
    drawn = list(names["batches"](rng))
    assert [list(d) for d in drawn] == [list(twin.permutation(4)) for _ in range(2)]
    assert rng.random() == twin.random(), "the caller's generator moved on as S's did"


def test_generators_t_drops_are_released_on_both_sides_and_one_t_holds_still_follows_s(pair):
    """A Generator cannot be weakly referenced, so T holds each one it sent; it lets go of one once
    nothing else of T's does. Kept for ever, chapter 5's Generators (one a call of a dozen tests) were
    all compared at every later message, each a few microseconds, thousands of messages."""
    t, s, run = pair
    names = run("def draw(rng):\n    return rng.random()\n")
    kept, twin = np.random.default_rng(3), np.random.default_rng(3)
    for seed in range(40):  # each a Generator the test makes, passes and drops
        assert names["draw"](np.random.default_rng(seed)) == np.random.default_rng(seed).random()
    assert names["draw"](kept) == twin.random()
    names["draw"](np.random.default_rng(99))  # a message after the drops: their releases go with it
    generators = [m for m in (t._array_of(mid) for mid in t.mirrors) if type(m) is np.random.Generator]
    assert len(generators) <= 3, f"T still holds {len(generators)} Generators"
    assert len([m for m in s.mirrors.values() if type(m) is np.random.Generator]) <= 3
    assert any(g is kept for g in generators), "the one T's code holds is still mirrored"
    assert names["draw"](kept) == twin.random() and kept.random() == twin.random(), "it still follows S's"


def test_t_never_hands_s_its_builtins(pair):
    t, s, run = pair
    names = run("def call(f, *args):\n    return f(*args)\n")
    with pytest.raises(TypeError, match="open"):
        names["call"](open, "/etc/hostname")
    assert names["call"](abs, -2) == 2 and names["call"](max, 1, 5) == 5, "abs, max: S's own, by name"


def test_containers_s_reads_from_t_objects_are_changed_in_place(pair):
    t, s, run = pair
    names = run("def record(history, metrics):\n"
                "    history.history = {name: [] for name in ['loss', *metrics.names]}\n"
                "    for value in (1.0, 0.5):\n        history.history['loss'].append(value)\n"
                "    return float(np.mean(metrics.values))\n")

    class History:
        history: dict = {}

    class Metrics:
        names = ["accuracy"]
        values = [1.0, 2.0]

    History.__module__ = Metrics.__module__ = "__main__"  # the instructor's notebook's classes
    history = History()
    assert names["record"](history, Metrics()) == 1.5
    assert history.history == {"loss": [1.0, 0.5], "accuracy": []}


class Widget:  # stands for a widget or a tensor: an object of T's that the course did not define
    kernel = "the kernel"

    def __call__(self, x):
        return 2 * x


def test_s_may_only_call_t_objects_the_course_did_not_define(pair):
    """Issue #18, finding 1: from a widget, public attributes led to the kernel. An object of T's
    that is not the course's own (``__main__``, the course library) and not a list, dict or set
    can only be called: no attribute read or write, no operator; its repr is its type's name."""
    t, s, run = pair
    names = run("def read(obj):\n    return obj.kernel\n"
                "def write(obj):\n    obj.kernel = 1\n"
                "def add(obj):\n    return obj + 1\n"
                "def call(obj):\n    return obj(21), repr(obj)\n")
    with pytest.raises(AttributeError, match="can only be called"):
        names["read"](Widget())
    with pytest.raises(AttributeError, match="can only be called"):
        names["write"](Widget())
    with pytest.raises(TypeError, match="can only be called"):
        names["add"](Widget())
    assert names["call"](Widget()) == (42, "<the grader's Widget>")


def test_t_handles_are_unguessable_and_names_are_sent_as_data_only(pair):
    t, s, run = pair
    node = t.encode(Widget())
    assert node[0] == protocol.T_HANDLE and type(node[2]) is bytes and len(node[2]) == 16, node
    assert node[2] != t.encode(Widget())[2]
    with pytest.raises(TypeError, match="not plain data"):
        t.encode({"slider": Widget()}, data_only=True)
    assert t.encode([1.0, "x"], data_only=True) == t.encode([1.0, "x"])


def test_the_graders_classes_are_read_only_to_s_and_their_instances_are_not(pair):
    """Red team 2: S wrote into a locked class of T's (``TorchModel.mark = ...``,
    ``TorchDense.TORCH_ACTIVATIONS["relu"] = f``), changing what later tests compute. A class or
    function of the course's is read-only to S, a table read from a class is a copy; an
    instance S is handed (a model its ``fit`` trains) stays writable."""
    t, s, run = pair
    model_class = type("TorchModel", (), {"__module__": "__main__", "TABLE": {"relu": 1}})
    names = run("def mark(cls):\n    cls.mark = 'written by S'\n"
                "def unmark(cls):\n    del cls.TABLE\n"
                "def table(cls):\n    cls.TABLE['relu'] = 'mine'\n    return cls.TABLE['relu']\n"
                "def build(model):\n    model.built = True\n    return model.built\n")
    with pytest.raises(AttributeError, match="read-only"):
        names["mark"](model_class)
    with pytest.raises(AttributeError, match="read-only"):
        names["unmark"](model_class)
    assert names["table"](model_class) == 1, "each read of a class's table is a fresh copy"
    assert model_class.TABLE == {"relu": 1} and not hasattr(model_class, "mark"), "T's class is untouched"
    model = model_class()
    assert names["build"](model) is True and model.built is True


def test_an_interrupt_never_splits_a_frame():
    """T's cell interrupted (its time limit) while a frame arrives: the interruption comes once the
    frame is read whole, so the next frame is read in step (once a split frame read as 2 GB)."""
    read_fd, write_fd = os.pipe()
    channel = Channel(read_fd, -1, 1 << 20)
    data = msgpack.packb({"x": 1})
    raw = HEADER.pack(len(data), REQUEST, 7, 0.0) + data
    os.write(write_fd, raw[:5])

    def rest() -> None:
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.3)
        os.write(write_fd, raw[5:] + raw)

    threading.Thread(target=rest).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            channel.read()
        kind, msgid, _, body = channel.read()
        assert (kind, msgid, body) == (REQUEST, 7, {"x": 1})
    finally:
        os.close(read_fd)
        os.close(write_fd)


# -- what a round trip compares, and what it releases ---------------------------------------------

class Course:  # an object of the instructor's notebook: S may read its attributes
    pass


Course.__module__ = "__main__"


def counting_frames(monkeypatch):
    """Count S's requests that T served without S's changed arrays, and T's answers "resync"."""
    counts = {"unsynced": 0, "resync": 0, "compared": 0}
    serve, compare = protocol.Endpoint.serve, protocol.Endpoint._changed_arrays

    def counted_serve(self, msgid, body):
        if self.side == "t" and body.get("unsynced") is True:
            counts["unsynced"] += 1
            counts["resync"] += not self._runs_no_code(body)
        return serve(self, msgid, body)

    def counted_compare(self):
        counts["compared"] += 1
        return compare(self)

    monkeypatch.setattr(protocol.Endpoint, "serve", counted_serve)
    monkeypatch.setattr(protocol.Endpoint, "_changed_arrays", counted_compare)
    return counts


def test_a_read_that_runs_no_code_compares_nothing_and_code_of_t_still_sees_every_change(pair, monkeypatch):
    t, s, run = pair
    counts = counting_frames(monkeypatch)
    names = run("def train(model, steps):\n"
                "    for step in range(steps):\n"
                "        for layer in model.layers:\n"
                "            layer.W += 1.0\n"          # S changes T's array in place...
                "            seen = layer.name, model.config['lr']\n"  # ...then only reads: deferred
                "    return model.total, model.recount()\n")  # a property, a method: T's code runs

    class Model(Course):
        @property
        def total(self):
            return float(sum(layer.W.sum() for layer in self.layers))

        def recount(self):
            return float(sum(layer.W.sum() for layer in self.layers))

    Model.__module__ = "__main__"
    model = Model()
    model.config = {"lr": 0.1}
    model.layers = []
    for index in range(2):
        layer = Course()
        layer.name, layer.W = f"dense{index}", np.zeros((2, 2))
        model.layers.append(layer)
    for layer in model.layers:  # each W crosses once before the call, as T's own array
        run("pass", W=layer.W)
    counts["compared"] = 0
    assert names["train"](model, 5) == (40.0, 40.0), "T's property and method read the changed W"
    assert all(np.array_equal(layer.W, np.full((2, 2), 5.0)) for layer in model.layers)
    assert counts["unsynced"] >= 5 * 2 * 5, counts  # layers, iteration, .W, W =, .name, .config, [...]
    assert counts["resync"] == 1, "only the property asked for S's changes"
    # T's call and S's answer; S asking again for the property and T's answer; the method, both ways
    assert counts["compared"] <= 6, counts


def test_a_callback_that_changes_an_array_sends_it_before_a_read_that_runs_no_code(pair):
    t, s, run = pair
    names = run("def watch(box, bump):\n"
                "    before = float(box.values[0])\n"
                "    bump()\n"
                "    return before, float(box.values[0]), box.label\n")
    box = Course()
    box.values, box.label = np.zeros(3), "box"

    def bump():
        box.values += 2.0

    assert names["watch"](box, bump) == (0.0, 2.0, "box")


def test_proxies_that_die_release_their_objects_and_arrays_on_both_sides(pair):
    t, s, run = pair
    names = run("def steps(model, count):\n"
                "    for i in range(count):\n"
                "        for layer in model.layers:\n"
                "            layer.backward(float(i))\n"
                "        grads = {k: v for layer in model.layers for k, v in layer.grads.items()}\n"
                "        model.optimizer.step(grads)\n")

    class Layer(Course):
        def backward(self, value):
            self.grads = {"W": np.full((4, 3), value), "b": np.full(3, value)}

    class Optimizer(Course):
        def step(self, grads):
            self.last = sorted(grads)

    Layer.__module__ = Optimizer.__module__ = "__main__"
    model = Course()
    model.layers, model.optimizer = [Layer(), Layer()], Optimizer()
    names["steps"](model, 50)
    # Each step gave S a proxy of 8 objects of T's (a layer list, its iterator, a dict, its items...)
    # and 4 arrays: all died in S, and T let go of them (a few releases wait for the next message).
    assert len(t.exports) < 50 and len(s.mirrors) < 50 and len(t.mirrors) < 50, \
        (len(t.exports), len(s.mirrors), len(t.mirrors))


@pytest.mark.parametrize("case, expected", [
    ("attribute", True), ("method", True), ("slot", True), ("missing", True), ("property", False),
    ("own getattr", False), ("own getattribute", False), ("class", False), ("cached before", False),
    ("cached after", True), ("list item", True), ("list slice", True), ("dict item", True),
    ("dict tuple key", False), ("list contains", False), ("dict contains", True), ("iterator", True),
    ("generator", False), ("items", True), ("append", True), ("sort", False), ("get tuple key", False),
])
def test_runs_no_code_knows_the_reads_that_run_no_python(case, expected):
    import functools

    class Plain:
        kind = "plain"

        def method(self):
            return 1

        @property
        def prop(self):
            return 1

        @functools.cached_property
        def cached(self):
            return 1

    class Slots:
        __slots__ = ("x",)

    class Lazy:
        def __getattr__(self, name):
            return 1

    class Watched:
        def __getattribute__(self, name):
            return 1

    plain, slots = Plain(), Slots()
    plain.value, slots.x = 1, 2
    warm = Plain()
    warm.cached  # noqa: B018 (now in its __dict__)
    items, table = [1, 2], {"a": 1}
    cases = {
        "attribute": ("getattr", plain, "value", []),
        "method": ("getattr", plain, "method", []),
        "slot": ("getattr", slots, "x", []),
        "missing": ("getattr", plain, "nothing", []),
        "property": ("getattr", plain, "prop", []),
        "own getattr": ("getattr", Lazy(), "x", []),
        "own getattribute": ("getattr", Watched(), "x", []),
        "class": ("getattr", Plain, "kind", []),
        "cached before": ("getattr", Plain(), "cached", []),
        "cached after": ("getattr", warm, "cached", []),
        "list item": ("dunder", items, "getitem", [0]),
        "list slice": ("dunder", items, "getitem", [slice(1)]),
        "dict item": ("dunder", table, "getitem", ["a"]),
        "dict tuple key": ("dunder", table, "getitem", [(1,)]),
        "list contains": ("dunder", items, "contains", [1]),
        "dict contains": ("dunder", table, "contains", ["a"]),
        "iterator": ("dunder", iter(items), "next", []),
        "generator": ("dunder", (x for x in items), "next", []),
        "items": ("call", table.items, "items", []),
        "append": ("call", items.append, "append", [3]),
        "sort": ("call", items.sort, "sort", []),
        "get tuple key": ("call", table.get, "get", [(1,)]),
    }
    assert protocol.runs_no_code(*cases[case]) is expected
