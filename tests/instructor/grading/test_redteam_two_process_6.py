"""Red team on the two-process grader, sixth pass: releases and deferred arrays on the T/S wire.

Commit ba2bb88 made two things real that never ran before: S's dead proxies release T's objects (and
T's dead arrays release S's mirrors), and S *defers* its changed arrays on a request that runs no code
in T (``"unsynced"``; T answers ``"resync"`` when serving would run code, and S asks again with its
changes). Each case here runs T and S endpoints over a socket pair (``pair`` of test_protocol.py):
fast, no sandbox. An honest learner's code, written in styles unlike the course's, must give what one
process gives (each compared with plain Python on the same objects); an attack must leave T consistent
and earn nothing.

Found and fixed on this branch (``Endpoint.serve`` keeps what ``_runs_no_code`` decoded):

- T judges whether a request runs code by decoding it first (``_runs_no_code``). What that decoding
  made (a proxy of S's object, T's copy of an array S sent for the first time) died as soon as the
  judgement was made, and queued its release; when T then answered ``"resync"``, the release went out
  with that answer, before S asked again with the same value. So an honest learner's
  ``layer.kernel = np.zeros(3)`` on T's Keras-like class (a property setter, or a ``__setattr__`` that
  tracks weights) left S without the mirror of its own array: ``kernel += 1`` afterwards never reached
  T (T kept zeros), and ``model.optimizer = SGD()`` left T with a proxy of an object S had let go:
  T's test calling ``model.optimizer.step()`` got a StaleHandle.

Held (each a test below): S answering T's call with ``"resync"`` (T gets None, as if S returned None);
S sending ``"unsynced"`` on a request that runs T's code (T answers resync and runs nothing until S
sends its changes); S releasing a handle or an array of T's that T still uses, or that S then names
again (S gets a StaleHandle, T's own objects and values are untouched); S making and dropping many
proxies and arrays (T's tables stay small).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import socket
import threading

import numpy as np
import pytest

from autograder.instructor.grading import protocol
from autograder.instructor.grading.protocol import StaleHandle
from tests.instructor.grading import test_protocol
from tests.instructor.grading.test_protocol import Course, counting_frames

# Protocol-level (a socket pair, no sandbox, about 2 s): in the fast tests, unlike the red teams that
# grade notebooks end to end.
pytestmark = [pytest.mark.xdist_group("redteam_two_process")]
pair = test_protocol.pair  # T and S endpoints over a socket pair, S served by a thread


def course(cls: type) -> type:
    """A class of the instructor's notebook (S may read and set its instances' attributes)."""
    cls.__module__ = "__main__"
    return cls


# ---- honest learners: the same values as one process ---------------------------------------------

@course
class PropertyLayer:
    """Keras-like: the kernel behind a property with a setter (runs code in T)."""

    def __init__(self) -> None:
        self._kernel = None

    @property
    def kernel(self):
        return self._kernel

    @kernel.setter
    def kernel(self, value) -> None:
        self._kernel = value


@course
class TrackingModel:
    """Keras-like: ``__setattr__`` tracks what is assigned (runs code in T)."""

    def __init__(self) -> None:
        object.__setattr__(self, "tracked", [])

    def __setattr__(self, name, value) -> None:
        self.tracked.append(name)
        object.__setattr__(self, name, value)


STUDENT_SETS_A_FRESH_ARRAY = """
def build(layer):
    kernel = np.zeros(3)
    layer.kernel = kernel      # T's property setter: S's changes were deferred, T answers resync
    kernel += 1.0              # the learner's array, now T's layer's kernel too
    return layer.kernel is kernel
"""


def test_an_array_set_through_a_property_of_t_stays_mirrored(pair):
    t, s, run = pair
    names = run(STUDENT_SETS_A_FRESH_ARRAY)
    layer = PropertyLayer()
    # One process: the property stores the learner's array, and the in-place change shows in it.
    assert names["build"](layer) is True
    assert np.array_equal(layer._kernel, np.ones(3)), \
        f"T's layer kept {layer._kernel}: S's kernel += 1 after the assignment never reached T"


def test_an_array_set_through_a_tracking_setattr_stays_mirrored(pair):
    t, s, run = pair
    names = run(STUDENT_SETS_A_FRESH_ARRAY)
    model = TrackingModel()
    assert names["build"](model) is True
    assert model.tracked == ["kernel"]
    assert np.array_equal(model.kernel, np.ones(3)), model.kernel


@pytest.mark.parametrize("model_class", [TrackingModel, PropertyLayer])
def test_an_object_of_s_set_on_a_keras_like_model_of_t_can_be_called_by_t(pair, model_class):
    t, s, run = pair
    names = run("class SGD:\n"
                "    def __init__(self, lr):\n"
                "        self.lr = lr\n"
                "    def step(self, w):\n"
                "        w -= self.lr\n"
                "        return self.lr\n"
                "def compile(model):\n"
                "    model.kernel = SGD(0.5)\n")  # T's setter runs code: S's changes deferred, T resyncs
    model = model_class()
    names["compile"](model)
    weights = np.ones(2)
    try:
        assert model.kernel.step(weights) == 0.5
    except StaleHandle as error:  # before the fix: T's resync answer released S's new SGD
        pytest.fail(f"T's test got a StaleHandle from the learner's optimizer: {error}")
    assert np.array_equal(weights, np.full(2, 0.5))


def test_arrays_of_s_that_t_drops_and_reads_again_keep_their_values(pair):
    t, s, run = pair
    names = run("class Layer:\n"
                "    def __init__(self):\n"
                "        self.W = np.zeros(3)\n"
                "    def step(self):\n"
                "        self.W += 1.0\n"
                "layer = Layer()\n")
    layer = names["layer"]
    held = layer.W
    for step in range(1, 30):
        layer.step()
        if step % 3:
            assert float(layer.W.sum()) == 3.0 * step  # T's copy dies at once: released both ways
        else:
            assert held is layer.W and float(held.sum()) == 3.0 * step  # T kept this one: same array
    assert len(t.mirrors) < 5 and len(s.mirrors) < 5, (len(t.mirrors), len(s.mirrors))


LEARNER_STYLES = """
import dataclasses, functools

class Dense:
    __slots__ = ("W", "b")
    def __init__(self, W, b):
        self.W, self.b = W, b

@dataclasses.dataclass
class Adam:
    params: dict
    lr: float = 0.1
    def step(self, grads):
        for (name, part), g in grads.items():       # a dict keyed by tuples
            self.params[name][part] -= self.lr * g

class Stats:
    def __init__(self, history):
        self.history = history
    @functools.cached_property
    def best(self):
        return min(self.history["loss"])

def layers_of(model):
    yield from model.layers                           # a generator over T's list

def train(model, params, grads, steps):
    opt = Adam(params)                                # the optimizer holds T's parameter dict
    dense = [Dense(layer.W, layer.b) for layer in layers_of(model)]
    for step in range(steps):
        opt.step(grads)
        for d in dense:
            d.W *= 0.5                                # in place, then read back at once
            model.history["loss"].append(float(d.W.sum()))
        for name, value in model.params.items():      # a view of T's dict, its arrays updated in place
            value -= 0.25
        first = next(iter(model.layers))
        seen = (float(first.W.sum()), len(model.history["loss"]), model.config["name"],
                model.lookup[(0, "W")], model.shape.width)
    stats = Stats(model.history)
    return stats.best, stats.best, seen, [float(d.W.sum()) for d in dense]
"""


@course
class Shape:
    __slots__ = ("width",)

    def __init__(self, width: int) -> None:
        self.width = width


def build_course_model():
    model = Course()
    model.config = {"name": "mlp"}
    model.lookup = {(0, "W"): 2.0}
    model.shape = Shape(3)
    model.history = {"loss": []}
    model.layers = []
    for width in (3, 2):
        layer = Course()
        layer.W, layer.b = np.ones((width, 2)), np.zeros(2)
        model.layers.append(layer)
    params = {"W0": model.layers[0].W, "b0": model.layers[0].b}
    model.params = {"W1": model.layers[1].W, "b1": model.layers[1].b}
    grads = {("W0", 0): np.full(2, 1.0), ("b0", 1): 0.5}
    return model, params, grads


def test_learner_styles_give_the_values_of_one_process(pair):
    t, s, run = pair
    names = run(LEARNER_STYLES)
    model, params, grads = build_course_model()
    got = names["train"](model, params, grads, 4)
    plain: dict = {"np": np}
    exec(LEARNER_STYLES, plain)
    control, control_params, control_grads = build_course_model()
    expected = plain["train"](control, control_params, control_grads, 4)
    assert got == expected
    assert model.history == control.history
    for mine, theirs in zip(model.layers, control.layers):
        assert np.array_equal(mine.W, theirs.W) and np.array_equal(mine.b, theirs.b)
    assert params["W0"] is model.layers[0].W


def test_arrays_released_and_handed_again_keep_their_values(pair):
    t, s, run = pair
    names = run("kept = []\n"
                "def hold(box):\n"
                "    kept.append(box.values)\n"      # S keeps T's array; T may drop its own
                "def bump():\n"
                "    for values in kept:\n"
                "        values += 1.0\n"
                "    return [float(v.sum()) for v in kept]\n"
                "def read(box):\n"
                "    return float(box.values.sum()), box.values is kept[-1]\n")
    for round_ in range(20):
        box = Course()
        box.values = np.full(4, float(round_))
        names["hold"](box)
        if round_ % 2:
            del box  # T's array dies: S's mirror of it is released, S's copy stays the learner's
            continue
        assert names["bump"]()[-1] == 4.0 * (round_ + 1)
        assert np.array_equal(box.values, np.full(4, round_ + 1.0))
        assert names["read"](box) == (4.0 * (round_ + 1), True)
    assert len(t.mirrors) < 10 and len(t.exports) < 10, (len(t.mirrors), len(t.exports))


def test_cached_property_and_dataclass_of_t_read_by_s(pair):
    t, s, run = pair

    @course
    @dataclasses.dataclass
    class Batch:
        x: np.ndarray
        y: np.ndarray

        @functools.cached_property
        def mean(self) -> float:
            return float(self.x.mean())

    names = run("def use(batch):\n"
                "    batch.x += 1.0\n"          # S changes T's array, then reads T's cached property
                "    first = batch.mean\n"      # (code: T answers resync, sees the change)
                "    batch.x += 1.0\n"
                "    return first, batch.mean, float(batch.y.sum())\n")  # cached now: T's first value
    batch = Batch(np.zeros(3), np.ones(2))
    run("pass", x=batch.x)
    control = Batch(np.zeros(3), np.ones(2))
    plain: dict = {"np": np}
    exec("def use(batch):\n    batch.x += 1.0\n    first = batch.mean\n    batch.x += 1.0\n"
         "    return first, batch.mean, float(batch.y.sum())\n", plain)
    assert names["use"](batch) == plain["use"](control)
    assert np.array_equal(batch.x, control.x)


# ---- attacks --------------------------------------------------------------------------------------

def test_s_answering_t_with_resync_gets_what_returning_none_gets(pair, monkeypatch):
    t, s, run = pair
    names = run("def forward(x):\n    return x * 2\n")
    serve = protocol.Endpoint.serve

    def resync_instead(self, msgid, body):  # S answers T's call with "resync" (T never defers)
        if self.side == "s" and body.get("op") == "call":
            self._take_extras(body)
            self.channel.write(protocol.REPLY, msgid, {"resync": True})
            return
        serve(self, msgid, body)

    monkeypatch.setattr(protocol.Endpoint, "serve", resync_instead)
    assert names["forward"](np.ones(2)) is None, "T takes it as an answer of None, and asks nothing again"
    monkeypatch.setattr(protocol.Endpoint, "serve", serve)
    assert np.array_equal(names["forward"](np.ones(2)), np.full(2, 2.0)), "the wire is still in step"


FORGED_DEFERRAL = """
def cheat(box, check, op):
    box.values += 3.0                      # a change S has not sent...
    endpoint = check._p_ep                 # (S's own endpoint: a proxy keeps it locally)
    if op == "call":                       # ...and T's code asked for, claiming it runs none
        body = {"op": "call", "target": endpoint.encode(check), "args": endpoint.encode([]),
                "kwargs": endpoint.encode({}), "_deferrable": True}
    else:                                  # a property of T's, read "unsynced"
        body = {"op": "getattr", "target": endpoint.encode(box), "name": "total", "_deferrable": True}
    return endpoint.request(body)
"""


@pytest.mark.parametrize("op", ["call", "getattr"])
def test_s_claiming_a_request_that_runs_code_runs_none_gets_it_run_after_its_changes(pair, monkeypatch, op):
    t, s, run = pair
    counts = counting_frames(monkeypatch)
    seen = []

    @course
    class Box:
        @property
        def total(self) -> float:
            seen.append(float(self.values.sum()))
            return seen[-1]

    box = Box()
    box.values = np.zeros(2)

    def check() -> float:  # T's code: it must see S's change, whatever S claims about the request
        seen.append(float(box.values.sum()))
        return seen[-1]

    names = run(FORGED_DEFERRAL)
    assert names["cheat"](box, check, op) == 6.0
    assert seen == [6.0], "T's code ran once, on the array S changed"
    assert counts["unsynced"] >= 1 and counts["resync"] == 1, counts


def test_s_releasing_t_handles_it_still_names_gets_a_stale_handle_and_t_keeps_its_objects(pair):
    t, s, run = pair
    model = Course()
    model.W = np.arange(3.0)
    model.layers = [Course(), Course()]
    names = run("def forge(model):\n"
                "    endpoint = model._p_ep\n"
                "    layers = model.layers\n"                       # a proxy of T's list
                "    handle = layers._p_id\n"
                "    endpoint._released_handles.extend([object.__getattribute__(model, '_p_id'), handle])\n"
                "    try:\n"
                "        len(layers)\n"                             # T has let go of it: refused
                "    except Exception as error:\n"
                "        return type(error).__name__\n"
                "    return 'served'\n")
    assert names["forge"](model) == "StaleHandle"
    # T's own objects are untouched; T sends them again under new handles, and S uses them.
    names.update(run("def total(model):\n    return float(model.W.sum()), len(model.layers)\n"))
    assert names["total"](model) == (3.0, 2)
    assert np.array_equal(model.W, np.arange(3.0)) and len(model.layers) == 2


def test_s_releasing_t_arrays_it_still_holds_changes_no_value_of_t(pair):
    t, s, run = pair
    names = run("kept = {}\n"
                "def forge(box):\n"
                "    endpoint = box._p_ep\n"
                "    kept['w'] = box.values\n"
                "    mid = endpoint._mirror_ids[id(kept['w'])]\n"
                "    endpoint._released_mirrors.append(mid)\n"   # as if S's copy had died
                "    kept['w'] += 1.0\n"                          # then S changes it: T's copy stays T's
                "    return mid\n"
                "def read(box):\n"
                "    return float(box.values.sum()), box.values is kept['w']\n")
    box = Course()
    box.values = np.zeros(2)
    names["forge"](box)
    # T forgot its mirror record only: its array keeps its value, and S's change to its copy, now no
    # mirror, stays in S (S's loss alone: an honest S never releases T's arrays). T sends the array
    # again under a new mirror id, and S reads T's value.
    assert np.array_equal(box.values, np.zeros(2))
    assert names["read"](box) == (0.0, False)


def test_proxies_and_arrays_s_makes_and_drops_leave_t_tables_small(pair):
    t, s, run = pair
    model = Course()
    model.layers = [Course() for _ in range(3)]
    for layer in model.layers:
        layer.W = np.ones((2, 2))
    names = run("def churn(model, rounds):\n"
                "    total = 0.0\n"
                "    for _ in range(rounds):\n"
                "        for layer in model.layers:\n"           # an iterator and a proxy a layer
                "            total += float(layer.W.sum())\n"
                "        model.scratch = np.ones(50)\n"           # an array of S's, replaced each round
                "        copies = model.layers[:]\n"              # a list of T's, made and dropped
                "    return total\n")
    # Without the cyclic collector: each StopIteration that ended a loop over T's list kept the
    # iterator's proxy in a cycle (the error, its traceback, Endpoint._request's frame), so T held
    # every iterator S had made until S's collector ran (1,110 after 1,000 rounds). Fixed: _request
    # lets go of the error it raises.
    gc.disable()
    try:
        assert names["churn"](model, 300) == 300 * 3 * 4.0
    finally:
        gc.enable()
    assert len(t.exports) < 10 and len(t.mirrors) < 10 and len(s.mirrors) < 10, \
        (len(t.exports), len(t.mirrors), len(s.mirrors))


LAYERS = ("class Layer:\n"
          "    def __init__(self, scale):\n"
          "        self.scale = scale\n"
          "    def __call__(self, x):\n"
          "        return x * self.scale\n"
          "layers = [Layer(float(i)) for i in range(1, 6)]\n")


def test_releases_of_a_lost_s_reach_the_new_one_harmlessly(pair):
    """A restart of S (``Bridge._fresh_process``): T's proxies of the lost S die afterwards, and their
    releases go to the new S. They name handles of the old generation, so the new S's objects stay."""
    t, s, run = pair
    old = run(LAYERS)["layers"]
    left, right = socket.socketpair()
    fresh = protocol.Endpoint(protocol.Channel(right.fileno(), right.fileno(), 1 << 26), "s",
                              generation=1, hooks=test_protocol.ExecHooks())

    thread = threading.Thread(target=test_protocol.serve_until_closed, args=(fresh,), daemon=True)
    thread.start()
    t.channel = protocol.Channel(left.fileno(), left.fileno(), 1 << 26)
    t.reset_peer(1)
    try:
        made = t.request({"op": "exec", "source": LAYERS, "globals": t.encode({})})["defined"]
        layers = t.decode(made["layers"])
        with pytest.raises(StaleHandle):
            old[0](np.ones(2))  # an object of the lost S: "make it again"
        del old  # five proxies of the old generation die: their releases go to the new S
        for scale, layer in enumerate(layers, start=1):
            assert np.array_equal(layer(np.ones(2)), np.full(2, float(scale)))
        assert len(fresh.exports) >= 5, "the new S kept its own layers"
    finally:
        left.shutdown(socket.SHUT_RDWR)
        thread.join(timeout=5)
        left.close()
        right.close()


# Not strict: it fails because the addresses of dead proxies are reused, which a run need not do.
@pytest.mark.xfail(strict=False, reason="not from ba2bb88 (measured the same before it): S gets a new proxy "
                   "each time it reaches one of T's objects after the last one died, so id() of T's "
                   "objects is not stable in S; keeping every proxy alive would undo the releases")
def test_id_of_an_object_of_t_is_stable_in_s(pair):
    """An honest optimizer keyed by ``id(layer)`` (state per layer of T's model): one process gives
    each layer 5.0 after five steps. Two processes gave [1.0, 1.0, 4.0] (ids of dead proxies reused).
    Keying by ``id(layer.W)`` works: S holds its mirror of T's array as long as T holds the array."""
    t, s, run = pair
    source = ("class Momentum:\n"
              "    def __init__(self):\n"
              "        self.v = {}\n"
              "    def step(self, model):\n"
              "        for layer in model.layers:\n"
              "            self.v[id(layer)] = self.v.get(id(layer), 0.0) + 1.0\n"
              "        return [self.v.get(id(layer)) for layer in model.layers]\n")
    names = run(source)
    model = Course()
    model.layers = [Course() for _ in range(3)]
    optimizer = names["Momentum"]()
    for _ in range(5):
        got = optimizer.step(model)
    plain: dict = {}
    exec(source, plain)
    control = plain["Momentum"]()
    for _ in range(5):
        expected = control.step(model)
    assert got == expected
