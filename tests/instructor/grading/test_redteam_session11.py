"""Red team, session 11: three changes of 2026-12-07 attacked through the real worker (``grade_task``).
(The attacks that take over 5 s each also carry ``two_process_suite``: `make test-two-process`.)

- ab3b6e7, T lets go of a Generator once nothing else of T's holds it (``sys.getrefcount`` <= 3).
  Held: a test (``RNG_TESTS``) that passes Generators inline (T drops them at once), holds one that a
  learner's generator function draws from lazily after the call, draws from it in T between S's
  draws, passes one Generator four times in one call (a list, a dict, an argument), gets back the one
  the learner's object kept and draws from it in T, then drops it, and takes 120 Generators the
  learner made: an honest learner scores full marks, every value equal to a replay of the same seed
  in T, no ProtocolError; the release really happens (S mirrors 2 Generators at the end, 154 when T
  kept every one); a learner who draws from copies of what it is given gains nothing. No case was
  found where T lets go of a Generator its code can still reach (CPython 3.11 counts every strong
  reference; a Generator cannot be weakly referenced), nor where a by-reference node and its release
  share a frame (the value encoded is alive until the frame is written).
  BROKE (older than the release, fixed in protocol.py): a Generator crossed as its bit generator's
  state alone, so S's copy had a seed sequence of fresh entropy: ``rng.spawn()`` in S gave different
  children for two Generators of one seed (JupyterLab: the same; a "same seed twice" check failed an
  honest learner who spawns), and neither side counted the other's spawns. A Generator now crosses
  with its seed sequence (entropy, spawn key, pool size, children spawned), checked on arrival
  (sizes bounded: a 4 GB pool or a 100,000-word entropy from S is a ProtocolError; a side's own
  Generator past the bounds crosses as before, without its seed sequence).
- ab3b6e7, ``frame_whole`` as a class on ``_signal``. Held: T's per-cell limit (10 s here) landing
  while S floods T with callbacks carrying a 32 MB array it changed, a fresh 32 MB array each, or
  Generators and fresh arrays, or while S sleeps: the interrupted test scores 0, S restarts once, the
  next test (a Generator and an array crossing) scores full marks, no ProtocolError. The broker
  relays whole frames only, so T never waits inside a frame for bytes S withholds, and it takes a
  whole frame from T before writing it to S: an S that stops itself (SIGSTOP) before T sends it 64 MB
  costs that test alone (T is still interrupted at its limit: its interruption is never held long).
  Noticed, then fixed: the broker wrote to S's stdin blocking. An S that sent a raw request whose
  answer is 32 MB and stopped reading stalled the broker's loop (S's call clock, T's restart request):
  each later cell that needed S then cost T's per-cell limit and failed, instead of a fresh S running
  it. The broker now writes as S's pipe takes it.
- 76ccae1, the warm parent imports torch._dynamo for a template naming ``torch.optim``. Held: the
  preload is worked out from the release's template only (a learner's cell naming torch.optim
  preloads nothing); it starts no thread in the parent (fork stays safe), adds a SymPy warning
  filter ("once") and about 70 MB of VmData (of RLIMIT_DATA's 4 GiB) to the later kernels of that
  parent, and nothing S can reach (S has no torch and no path into T).
- Chapters 4 to 6 (every test that passes a Generator) still grade their solutions full marks.
"""

from __future__ import annotations

import copy

import nbformat
import numpy as np
import pytest

from tests.instructor.demo_course import demo_grader, graded_score, outputs
from tests.instructor.demo_course import with_cell as answer

from . import test_protocol
from .templates import nbgrader_v3_cell as cell

pair = test_protocol.pair  # the fixture: T's and S's endpoints over a socket pair

# -- ab3b6e7: T lets go of a Generator once nothing else of T's holds it -------------------------

# A test of the demo chapter that passes Generators to the student's objects every way a chapter's
# test does and a few more: inline (T drops it at once), held by the test and drawn lazily by a
# generator of the student's after the call, the same one several times in one call (in a list, a
# dict), one the student kept and hands back, and many of the student's own. Every value is compared
# with a replay of the same seed in T, and the test's Generator's state with the replay's: what
# JupyterLab gives, where both sides are one object.
RNG_TESTS = '''from autograder import check_equal

with exercise("square"):
    maker = square(np.random.default_rng(1))  # passed inline: T holds it only until the call returns
    replay1 = np.random.default_rng(1)
    check_close(maker.draw(3), replay1.normal(size=3), name="a draw from the kept rng")
    check_close(maker.draw(2), replay1.normal(size=2), name="a second draw from the kept rng")
    kept = maker.rng  # the student's object hands back the Generator it was given
    check_close(kept.normal(size=2), replay1.normal(size=2), name="T draws from the handed-back rng")
    check_close(maker.draw(1), replay1.normal(size=1), name="the kept rng after T drew from it")
    del kept
    check_close(maker.draw(1), replay1.normal(size=1), name="the kept rng after T let go of it")
    rng, replay = np.random.default_rng(2), np.random.default_rng(2)
    stream = maker.stream(rng)  # a generator of the student's: draws after the call returned
    check_close(next(stream), replay.normal(size=2), name="first lazy draw")
    check_close(next(stream), replay.normal(size=2), name="second lazy draw")
    check_equal(rng.bit_generator.state == replay.bit_generator.state, True, name="rng moved by S's draws")
    check_close(rng.normal(size=1), replay.normal(size=1), name="T draws from rng between S's")
    check_close(next(stream), replay.normal(size=2), name="a lazy draw after T drew")
    four = maker.twice([rng, rng], {"r": rng}, rng)  # one Generator four times in one call
    check_close(four, np.concatenate([replay.normal(size=1) for _ in range(4)]), name="one rng four times")
    check_equal(rng.bit_generator.state == replay.bit_generator.state, True, name="rng after four draws")
    many = maker.many(60)  # the student's own Generators
    check_close(many[7].random(), np.random.default_rng(7).random(), name="the student's 8th rng")
    again = maker.many(60)[9]  # the list dropped at once
    check_close(again.random(), np.random.default_rng(9).random(), name="the student's 10th rng")
    del many, stream
    for seed in range(30):  # T lets go of each while S still holds it
        check_close(square(np.random.default_rng(seed)).draw(1), np.random.default_rng(seed).normal(size=1),
                    name=f"seed {seed}")
    check_close(maker.draw(1), replay1.normal(size=1), name="the kept rng at the end")
'''

HONEST_MAKER = '''class Maker:
    def __init__(self, rng):
        self.rng = rng

    def draw(self, n):
        return self.rng.normal(size=n)

    def stream(self, rng):
        while True:
            yield rng.normal(size=2)

    def twice(self, rngs, table, rng):
        return np.concatenate([rngs[0].normal(size=1), rngs[1].normal(size=1), table["r"].normal(size=1),
                               rng.normal(size=1)])

    def many(self, n):
        return [np.random.default_rng(k) for k in range(n)]


def square(rng):
    return Maker(rng)
'''
# Draws from a copy of each Generator it is given: the same values at first, but the test's rng never
# moves and later draws repeat earlier ones. JupyterLab fails it; so must grading.
COPYING_MAKER = (HONEST_MAKER
                 .replace("        self.rng = rng\n", "        self.rng = copy.deepcopy(rng)\n")
                 .replace("    def stream(self, rng):\n",
                          "    def stream(self, rng):\n        rng = copy.deepcopy(rng)\n")
                 .replace("class Maker:", "import copy\n\n\nclass Maker:"))

CUBE_SPAWN_TESTS = '''from autograder import check_equal

with exercise("cube"):
    check_equal(cube(np.random.default_rng(3)), cube(np.random.default_rng(3)), name="the same seed twice")
    rng = np.random.default_rng(4)
    first = cube(rng)
    check_equal(np.array_equal(cube(rng), first), False, name="two calls with one rng")
    check_equal(np.array_equal(rng.spawn(1)[0].normal(size=3), first), False,
                name="T's next child of rng is not the student's")
'''
SPAWNING_CUBE = "def cube(rng):\n    return rng.spawn(1)[0].normal(size=3)\n"
UNSEEDED_CUBE = "def cube(rng):\n    return np.random.default_rng().normal(size=3)\n"


@pytest.fixture(scope="module")
def rng_demo(tmp_path_factory):
    """The demo chapter with RNG_TESTS as square's test (2 points), CUBE_SPAWN_TESTS as cube's (1)."""
    grade, template = demo_grader(tmp_path_factory.mktemp("rng_demo"), after={},
                                  tests={"square__tests": RNG_TESTS, "cube__tests": CUBE_SPAWN_TESTS})
    honest = answer(answer(template, "square", HONEST_MAKER), "cube", SPAWNING_CUBE)
    return grade, honest


@pytest.mark.slow
def test_generators_t_lets_go_of_stay_in_step_for_an_honest_learner(rng_demo):
    grade, honest = rng_demo
    result = grade(honest)
    tests = result["record"]["tests"]
    assert tests["square__tests"]["score"] == 2, (tests, outputs(result)[-3000:])
    assert "ProtocolError" not in outputs(result)


@pytest.mark.slow
def test_drawing_from_copies_of_the_given_generators_earns_nothing(rng_demo):
    grade, honest = rng_demo
    result = grade(answer(honest, "square", COPYING_MAKER))
    assert graded_score(result) - result["record"]["tests"]["cube__tests"]["score"] == 0, result["record"]


# How many Generators S's endpoint mirrors now (S holds its mirrors until T releases them).
PROBE = '''

def mirrored():
    import gc
    endpoint = next(o for o in gc.get_objects() if type(o).__name__ == "Endpoint")
    return sum(type(v).__name__ == "Generator" for v in endpoint.mirrors.values())
'''


@pytest.mark.slow
def test_t_does_let_go_of_the_generators_it_dropped(rng_demo):
    """The test above exercises the release: of the 30 Generators passed inline and the 60 + 60 the
    student made, S mirrors only the few that T's test still holds when the test ends."""
    grade, honest = rng_demo
    nb = answer(honest, "square", HONEST_MAKER + PROBE)
    nb.cells.append(nbformat.v4.new_code_cell("print('S mirrors', mirrored(), 'generators')"))
    result = grade(nb)
    assert result["record"]["tests"]["square__tests"]["score"] == 2, result["record"]
    shown = outputs(result)
    count = int(shown.split("S mirrors ")[1].split(" ")[0])
    assert count <= 4, (count, shown[-2000:])  # 154 when T kept every one (measured)


@pytest.mark.slow
def test_an_unseeded_cube_still_fails_the_same_seed_check(rng_demo):
    grade, honest = rng_demo
    result = grade(answer(honest, "cube", UNSEEDED_CUBE))
    assert result["record"]["tests"]["cube__tests"]["score"] == 0, result["record"]


@pytest.mark.slow
def test_spawn_in_s_is_as_deterministic_as_in_jupyterlab(rng_demo):
    """BROKE, fixed: a Generator crossed as its bit generator's state alone, so S's copy had a seed
    sequence of fresh entropy: ``rng.spawn()`` in S gave different children for two Generators of one
    seed (JupyterLab: the same), and T's copy never counted S's spawns."""
    grade, honest = rng_demo
    result = grade(honest)
    assert result["record"]["tests"]["cube__tests"]["score"] == 1, result["record"]["tests"]["cube__tests"]


# -- the fix: a Generator crosses with its seed sequence (protocol level, fast) ---------------------

def test_spawn_on_either_side_is_counted_on_the_other(pair):
    t, s, run = pair
    names = run("def child(rng):\n    return rng.spawn(1)[0].random(3)\n"
                "def keep(rng):\n    global kept\n    kept = rng\n"
                "def spawn_kept():\n    return kept.spawn(1)[0].random(2)\n")
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    assert list(names["child"](rng)) == list(twin.spawn(1)[0].random(3)), "S's child is JupyterLab's"
    assert list(rng.spawn(1)[0].random(2)) == list(twin.spawn(1)[0].random(2)), "T counted S's spawn"
    names["keep"](rng)
    assert list(names["spawn_kept"]()) == list(twin.spawn(1)[0].random(2)), "S counted T's spawn"
    from_list = np.random.default_rng([1, 2**70, 3])  # entropy of several words, one past 64 bits
    assert list(names["child"](from_list)) == list(np.random.default_rng([1, 2**70, 3]).spawn(1)[0].random(3))
    many = np.random.default_rng(np.arange(1000))  # entropy of 1,000 words still crosses whole
    assert list(names["child"](many)) == list(np.random.default_rng(np.arange(1000)).spawn(1)[0].random(3))
    empty = np.random.default_rng([])  # no words at all: as entropy 0
    assert list(names["child"](empty)) == list(np.random.default_rng([]).spawn(1)[0].random(3))
    huge = np.random.default_rng(np.arange(5000))  # past the bound: crosses as before, without it
    assert names["child"](huge).shape == (3,)
    legacy = np.random.Generator(np.random.MT19937(7))
    twin = np.random.Generator(np.random.MT19937(7))
    assert list(names["child"](legacy)) == list(twin.spawn(1)[0].random(3))


@pytest.mark.parametrize("seq", [
    [0, [], 10**9, 0],  # a pool of 4 GB
    [list(range(100_000)), [], 4, 0],  # entropy of 100,000 words
    [0, [], 65, 0],
    [0, list(range(100_000)), 4, 0],
    [-1, [], 4, 0], [0, [-1], 4, 0], [0, [], 4, -1], [0, [], 4, 2**64], ["x", [], 4, 0], [0, [], 4],
    [None, [], 4, 0], [1.5, [], 4, 0], [0, [], 3, 0],
])
def test_a_malformed_seed_sequence_from_s_is_refused(seq):
    from autograder.instructor.grading.protocol import T_RNG, Channel, Endpoint, ProtocolError

    t = Endpoint(Channel(-1, -1, 1 << 20), "t", restricted=True)
    state = {**np.random.default_rng(0).bit_generator.state, "seed_seq": seq}
    s = Endpoint(Channel(-1, -1, 1 << 20), "s")
    node = [T_RNG, 7, s.encode(state)]
    with pytest.raises(ProtocolError):
        t.decode(node)


# -- ab3b6e7: frame_whole, and T's per-cell limit landing while frames are in flight -----------------

FLOOD = {
    # ping-pong: a 32 MB array S changed goes to T with every callback (T reads frames most of the time)
    "flood_changed": ("def f(cb):\n    big = np.ones(4_000_000)\n    while True:\n        cb(big)\n"
                      "        big += 1.0\n"),
    # a fresh 32 MB array every callback: each a new mirror T registers, then drops
    "flood_fresh": ("def f(cb):\n    k = 0\n    while True:\n        k += 1\n"
                    "        cb(np.full(4_000_000, float(k)))\n"),
    # Generators too: one T handed over, advanced, and a fresh one of S's, at every callback
    "flood_rngs": ("def f(cb):\n    rng = np.random.default_rng(0)\n    while True:\n"
                   "        try:\n            cb([rng, np.random.default_rng(1), rng.random(500_000)])\n"
                   "        except TypeError:  # (a list squared)\n            pass\n"),
    "sleep": "import time\n\ndef f(cb):\n    time.sleep(300)\n",
}
HONEST_F = "def f(cb):\n    return cb(np.array([2.0]))\n"
WRONG_F = "def f(cb):\n    return np.array([0.0])\n"
HONEST_G = "def g(rng, x):\n    return rng.normal(size=x.shape) * x\n"


def interrupt_release():
    """A chapter whose first test hands the student's ``f`` a callback of T's; T's per-cell limit is
    10 s (cell_timeout 1 s, times T_CELL_FACTOR), a call into S may take 60 s. The second test passes a
    Generator and an array: it must grade as if the first had never run."""
    from autograder.instructor.grading.policy import facts_from_source
    from autograder.instructor.grading.sandbox import bwrap_problem
    from autograder.instructor.grading.worker import GradingRelease

    template = nbformat.v4.new_notebook()
    template.cells = [
        cell("import numpy as np\nfrom autograder import check_close, exercise", grade_id="setup",
             locked=True, solution=False, grade=False),
        cell("def f(cb):\n    raise NotImplementedError()", grade_id="f", solution=True, grade=False,
             locked=False),
        cell("with exercise('f'):\n    check_close(f(lambda a: a**2), np.array([4.0]), name='f(square)')",
             grade_id="f__tests", solution=False, grade=True, locked=True, points=1),
        cell("def g(rng, x):\n    raise NotImplementedError()", grade_id="g", solution=True, grade=False,
             locked=False),
        cell("with exercise('g'):\n    rng, x = np.random.default_rng(5), np.arange(2.0)\n"
             "    check_close(g(rng, x), np.random.default_rng(5).normal(size=2) * x, name='g(rng, x)')\n"
             "    check_close(g(rng, x), np.random.default_rng(5).normal(size=4)[2:] * x, name='again')\n",
             grade_id="g__tests", solution=False, grade=True, locked=True, points=1),
    ]
    release = GradingRelease(chapter="00_demo", template=nbformat.writes(template), cell_timeout=1,
                             call_timeout=60, policy=facts_from_source(template, 0).to_dict(),
                             isolation="two-process", sandbox=bwrap_problem() is None)
    return release, template


def grade_interrupted(f_source: str) -> dict:
    from autograder.instructor.grading.worker import grade_task

    release, template = interrupt_release()
    submitted = copy.deepcopy(template)
    submitted.cells[1].source, submitted.cells[3].source = f_source, HONEST_G
    task = {"student": "s", "chapter": "00_demo", "notebook": nbformat.writes(submitted).encode()}
    return grade_task(task, release)


@pytest.mark.slow
@pytest.mark.two_process_suite
def test_the_interrupt_control():
    honest, wrong = grade_interrupted(HONEST_F), grade_interrupted(WRONG_F)
    assert graded_score(honest) == 2, honest["record"]
    assert graded_score(wrong) == 1 and wrong["record"]["tests"]["g__tests"]["score"] == 1, wrong["record"]


@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.parametrize("attack", sorted(FLOOD))
def test_an_interrupt_while_frames_are_in_flight_leaves_the_next_test_in_step(attack):
    result = grade_interrupted(FLOOD[attack])
    record = result["record"]
    assert record["status"] == "graded", record
    assert record["tests"]["f__tests"]["score"] == 0, record
    assert record["tests"]["g__tests"]["score"] == 1, (record, outputs(result)[-3000:])
    cells = nbformat.reads(result["notebook"], as_version=4).cells
    errors = [(o.ename, o.evalue) for c in cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert [e for e in errors if e[0] != "KeyboardInterrupt"] == [], errors  # f's test: interrupted
    assert record["student_restarts"] >= 1, record


# S sends T a raw request whose answer is 32 MB, then stops reading its stdin. The broker wrote to S
# blocking, so that write stalled its loop (S's call clock, T's restart request); it now writes only as
# S's pipe takes it (broker._flush_to_s).
STALL = '''import gc, time

def f(cb):
    endpoint = next(o for o in gc.get_objects() if type(o).__name__ == "Endpoint")
    body = {"op": "call", "target": endpoint.encode(cb), "args": endpoint.encode([np.ones(4_000_000)]),
            "kwargs": endpoint.encode({})}
    endpoint.channel.write(1, 10**9, body)
    time.sleep(600)
'''


@pytest.mark.slow
@pytest.mark.two_process_suite
def test_an_s_that_stops_reading_costs_only_its_own_exercise():
    """Fixed after redteam 11: the broker no longer blocks on S's full pipe, so T's restart after its
    per-cell limit (10 x cell_timeout) reaches it, and the honest ``g`` runs in a fresh S (it lost its
    point while the broker was stalled)."""
    import time

    started = time.monotonic()
    result = grade_interrupted(STALL)
    record = result["record"]
    assert record["tests"]["f__tests"]["score"] == 0, record
    assert graded_score(result) == 1, f"g grades in a fresh S: {record}"
    assert time.monotonic() - started < 200, "bounded by T's per-cell limits"
    assert graded_score(grade_interrupted(HONEST_F)) == 2, "the next notebook grades as before"


# -- 76ccae1: the warm parent imports torch._dynamo before forking a T whose template names torch.optim

@pytest.mark.slow
def test_what_the_parent_preloads_is_the_templates_choice_never_the_students(rng_demo, monkeypatch):
    """The preload is worked out from the release's template alone: a learner's cells naming
    ``torch.optim`` (or importing it in S, where there is no torch) make the parent import nothing."""
    from autograder.instructor.grading import warm_kernels

    asked: list[tuple[str, ...]] = []
    original = warm_kernels.WarmSandbox.__init__

    def recording(self, *args, **kwargs):
        asked.append(kwargs.get("preload", ()))
        original(self, *args, **kwargs)

    monkeypatch.setattr(warm_kernels.WarmSandbox, "__init__", recording)
    grade, honest = rng_demo
    nb = copy.deepcopy(honest)
    nb.cells.append(nbformat.v4.new_code_cell("# torch.optim torch.optim.SGD\nimport torch.optim\n"))
    result = grade(nb)
    assert result["record"]["tests"]["square__tests"]["score"] == 2, result["record"]
    assert asked == [()], asked


# -- the Generators of the real chapters: every test that passes one, with the fix ---------------------

@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.parametrize("chapter", ["04_backprop_in_practice", "05_training_and_tuning", "06_whats_next"])
def test_the_chapters_that_pass_generators_still_grade_their_solution_full_marks(chapter, tmp_path):
    """Chapters 4 to 6 pass Generators to the learner's code in dozens of tests (inline, held, drawn
    lazily by iterate_minibatches, a model's ``rng`` read back and deep-copied): their solutions still
    score full marks with T letting go of Generators and with their seed sequences crossing."""
    from autograder.instructor.grading import coordinator as grading
    from tests.chapters import COURSE, read, source_path, structure

    submitted = tmp_path / "submitted" / "solution" / chapter
    submitted.mkdir(parents=True)
    nbformat.write(read(source_path(chapter)), str(submitted / f"{chapter}.ipynb"))
    (record,) = grading.grade(tmp_path / "submitted", tmp_path / "course", COURSE,
                              grading.GradeSettings(workers=0, feedback=False, progress=False))
    failed = {name: test["message"][:300] for name, test in record.tests.items()
              if test["score"] < test["points"]}
    assert (record.status, failed, record.student_restarts) == ("graded", {}, 0), record
    assert record.code_score == structure(read(source_path(chapter))).max_code_score


@pytest.mark.slow
@pytest.mark.two_process_suite
def test_an_s_that_stops_itself_before_t_sends_it_64_mb_costs_only_that_test():
    """Held: S stops itself (SIGSTOP) after answering; T's next request is 64 MB. The broker takes the
    whole frame from T before it writes to S (and then blocks), so T never waits inside
    ``frame_whole`` with its interruption held: T's per-cell limit stops that test, nothing else."""
    import dataclasses

    from autograder.instructor.grading.worker import grade_task

    release, template = interrupt_release()
    template.cells[4].source = (
        "with exercise('g'):\n    rng, x = np.random.default_rng(5), np.ones(8_000_000)\n"
        "    check_close(g(rng, x)[:2], np.random.default_rng(5).normal(size=2), name='g(rng, x)')\n")
    release = dataclasses.replace(release, template=nbformat.writes(template), release_sha256="")
    stop = ("import os, signal, threading, time\n\ndef f(cb):\n"
            "    threading.Thread(target=lambda: (time.sleep(1), os.kill(os.getpid(), signal.SIGSTOP)),\n"
            "                     daemon=True).start()\n    return cb(np.array([2.0]))\n")
    submitted = copy.deepcopy(template)
    submitted.cells[1].source, submitted.cells[3].source = stop, HONEST_G
    task = {"student": "s", "chapter": "00_demo", "notebook": nbformat.writes(submitted).encode()}
    record = grade_task(task, release)["record"]
    assert record["status"] == "graded", record
    assert record["tests"]["f__tests"]["score"] == 1 and record["tests"]["g__tests"]["score"] == 0, record
    assert record["tests"]["g__tests"]["message"].startswith("KeyboardInterrupt"), record
