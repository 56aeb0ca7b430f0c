"""Red team on the two-process grader (issue #18), second pass: T's locked helpers and objects.

Through the real worker (``grade_task`` under ``isolation="two-process"``), on the chapters as they
are on main, each attack compared with its control (the untouched student version, which scores 0):

- chapter 6 (``test_models``: ``TorchDense``/``TorchModel``, built on the course's ``Sequential``):
  the tests hand T's own models to the student's functions, and a student's cell may read a locked
  cell's class as a handle. Attacks: an exercise answered by calling the test model's own method
  (``model.predict(x)``, ``compute_loss``, ``evaluate``, ``train_on_batch``), and a student's cell
  that writes into T's locked classes (``setattr`` on ``TorchModel``, ``setitem`` on
  ``TorchDense.TORCH_ACTIVATIONS``), which every later test's reference then uses;
- chapter 4 (``network_harness``): ``network_forward``, ``network_backward`` and ``train_step``
  answered by calling the locked helpers ``reference_caches``, ``torch_parameter_grads`` and
  ``torch_sgd_run``, which S receives as handles and which compute the answers in T with torch;
- chapter 1: output forged to look like a pass (a line naming the test "passed", the check hint's
  mimetype as text, HTML) earns nothing and changes no message.

The attacks that succeed are ``xfail(strict=True, raises=AssertionError)`` with what they do and
why they work; when one is fixed its xfail fails: drop the mark.
Fixed, marks dropped: chapter 6's test models refuse the method under test (``student_turn``), and
the names of ``tests-only`` cells (chapter 4's harnesses, chapter 6's ``test_models``) never reach S.

Runtime: about 10 minutes on two busy cores (three graded notebooks).
"""

from __future__ import annotations

import pytest

from tests.chapters import read, student_path
from tests.instructor.grading.test_redteam_two_process import add_after, answer, chapter_grader

pytestmark = [pytest.mark.slow, pytest.mark.two_process_suite, pytest.mark.xdist_group("redteam_two_process")]

# ---- chapter 6: T's models reach the student's functions ------------------------------------------

CH6 = "06_whats_next"
# Each answer calls the method of the same name of the model the test passes: TorchModel's
# (PyTorch's arithmetic) in the visible tests, the course library's Sequential in the hidden ones.
DELEGATES = {
    "predict": "def predict(model, x):\n    return model.predict(x)\n",
    "compute_loss": "def compute_loss(model, out, y):\n    return model.compute_loss(out, y)\n",
    "evaluate": "def evaluate(model, x, y):\n    return model.evaluate(x, y)\n",
    "train_on_batch": "def train_on_batch(model, x, y):\n    return model.train_on_batch(x, y)\n",
}
# A student's cell after the locked `test_models`: reads T's classes (sent as handles, being the
# course's own classes) and writes into them. The marks are harmless; the point is the write.
PATCH = '''def redteam_activation(z):
    return z
TorchModel.redteam_mark = "written by S"
TorchDense.TORCH_ACTIVATIONS["redteam"] = redteam_activation
print("PATCH done")
'''
# A later cell reads the marks back: only T holds them (S keeps nothing of the classes it was given).
READ_BACK = '''found = []
try:
    found.append(TorchModel.redteam_mark)
except Exception as error:
    found.append(type(error).__name__)
try:
    found.append(TorchDense.TORCH_ACTIVATIONS["redteam"] is redteam_activation)
except Exception as error:
    found.append(type(error).__name__)
print("READ BACK", found)
'''


@pytest.fixture(scope="module")
def chapter_6(tmp_path_factory):
    nb = read(student_path(CH6))
    for exercise, source in DELEGATES.items():
        nb = answer(nb, exercise, source)
    nb = add_after(add_after(nb, "evaluate__tests", READ_BACK), "test_models", PATCH)
    return chapter_grader(tmp_path_factory, CH6)(nb)


def test_chapter_6_was_graded(chapter_6):
    assert chapter_6.record["status"] == "graded", chapter_6.record
    # test_models is tagged tests-only: S never gets TorchModel, so PATCH stops at a NameError.
    assert "PATCH done" not in chapter_6.outputs, chapter_6.outputs[:3000]
    assert "READ BACK" in chapter_6.outputs, chapter_6.outputs[:3000]


@pytest.mark.parametrize("exercise", sorted(DELEGATES))
def test_calling_the_test_models_own_method_earns_nothing(chapter_6, exercise):
    earned = {n: t["score"] for n, t in chapter_6.tests.items() if n.split("__")[0] == exercise}
    assert not any(earned.values()), earned


def test_a_student_cell_cannot_write_into_a_locked_class(chapter_6):
    start = chapter_6.outputs.find("READ BACK")
    shown = chapter_6.outputs[start:start + 200]
    assert "written by S" not in shown and "True" not in shown, shown


# ---- chapter 4: the locked helpers compute the answers with PyTorch --------------------------------

CH4 = "04_backprop_in_practice"
# network_harness's functions (reference_caches, torch_parameter_grads, torch_sgd_run) are the course's
# own, so a student's cell that names them gets handles, and S may call them: each computes an
# exercise's answer in T, with torch. A cell after the harness keeps them under names of S's own.
BORROW = "HELPERS = {'forward': reference_caches, 'grads': torch_parameter_grads, 'sgd': torch_sgd_run}\n"
BORROWERS = {
    "network_forward": "def network_forward(X, params, activation='relu'):\n"
                       "    return HELPERS['forward'](X, params, activation)\n",
    "network_backward": "def network_backward(dscores, caches, activation='relu'):\n"
                        "    params = {}\n"
                        "    for k, (linear_cache, _) in enumerate(caches, start=1):\n"
                        "        params[f'W{k}'], params[f'b{k}'] = linear_cache[1], linear_cache[2]\n"
                        "    return HELPERS['grads'](params, caches[0][0][0], activation, dscores)\n",
    "train_step": "def train_step(params, X, y, lr, activation='relu'):\n"
                  "    losses, trained = HELPERS['sgd'](params, [(X, y)], lr, activation)\n"
                  "    for name in params:\n"
                  "        params[name][...] = trained[name]\n"
                  "    return float(losses[0])\n",
}


@pytest.fixture(scope="module")
def chapter_4(tmp_path_factory):
    nb = read(student_path(CH4))
    for exercise, source in BORROWERS.items():
        nb = answer(nb, exercise, source)
    return chapter_grader(tmp_path_factory, CH4)(add_after(nb, "network_harness", BORROW))


@pytest.mark.parametrize("exercise", sorted(BORROWERS))
def test_calling_a_locked_helper_of_t_earns_nothing(chapter_4, exercise):
    assert chapter_4.record["status"] == "graded", chapter_4.record
    earned = {n: t["score"] for n, t in chapter_4.tests.items() if n.split("__")[0] == exercise}
    assert not any(earned.values()), earned


# ---- chapter 1: output that looks like a verdict ----------------------------------------------------

CH1 = "01_neural_network_basics"
FORGED = '''import json
verdict = {"test": "count_parameters__tests", "passed": True, "score": 1, "points": 1}
print("count_parameters__tests: passed (1/1)")
print("application/vnd.backprop-lab.check+json", json.dumps(verdict))
print("<div class='passed'>&#10004; all tests passed</div>")
'''
LOUD_STUB = ("def count_parameters(layer_sizes):\n"
             "    print('count_parameters__tests: passed (1/1)')\n"
             "    print('application/vnd.backprop-lab.check+json {\"passed\": true}')\n"
             "    return 0\n")


@pytest.fixture(scope="module")
def chapter_1(tmp_path_factory):
    nb = add_after(answer(read(student_path(CH1)), "count_parameters", LOUD_STUB), "count_parameters", FORGED)
    return chapter_grader(tmp_path_factory, CH1)(nb)


def test_output_forged_as_a_pass_earns_nothing(chapter_1):
    assert chapter_1.record["status"] == "graded", chapter_1.record
    assert chapter_1.score == 0, {n: t for n, t in chapter_1.tests.items() if t["score"]}
    message = chapter_1.tests["count_parameters__tests"]["message"]
    assert message and "passed" not in message, message
