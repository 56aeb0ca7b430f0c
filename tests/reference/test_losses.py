"""autograder/reference/losses.py (chapter 3, §3.2) against torch.nn.functional in float64.

Each loss is compared in value with its PyTorch namesake and in gradient with
torch.autograd on the same inputs; logits of +-1e4 must give finite results with
no floating-point warning; every gradient is that of a mean over the batch.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch.nn.functional as F

from autograder import check_close, check_no_mutation, grad_check, no_numpy_warnings
from autograder.reference import losses
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL
from autograder.torch_ref import labels, to_numpy, to_torch, value_and_grad

pytestmark = pytest.mark.chapter(3)
SHAPES = [(1,), (7,), (1, 1), (4, 5), (2, 3, 4)]
CLASS_SHAPES = [(1, 2), (5, 1), (7, 3), (32, 10)]
EXTREME = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, -1e4], [-1e4, -1e4, 1e4], [800.0, 799.0, -800.0],
                    [-1e4, -1e4 + 1.0, -1e4 - 2.0]])


def close(actual, expected, name):
    check_close(actual, expected, name=name, rtol=TORCH_RTOL, atol=TORCH_ATOL)


# Mean squared error


@pytest.mark.exercise("mse_loss")
@pytest.mark.exercise("mse_loss_grad")
@pytest.mark.parametrize("shape", SHAPES)
def test_mse_matches_torch(shape):
    rng = np.random.default_rng(len(shape) * 10 + shape[0])
    y_pred, y = rng.normal(size=shape), rng.normal(size=shape)
    value, (grad,) = value_and_grad(lambda t: F.mse_loss(t, to_torch(y)), y_pred)
    close(check_no_mutation(losses.mse_loss, y_pred, y), value, f"mse_loss {shape}")
    close(check_no_mutation(losses.mse_loss_grad, y_pred, y), grad, f"mse_loss_grad {shape}")


@pytest.mark.exercise("mse_loss")
@pytest.mark.exercise("mse_loss_grad")
def test_mse_is_a_mean_over_all_entries():
    y_pred = np.arange(12.0).reshape(3, 4)
    y = np.zeros((3, 4))
    close(losses.mse_loss(y_pred, y), float(np.sum(y_pred**2) / 12), "mse_loss (3, 4)")
    close(losses.mse_loss_grad(y_pred, y), 2 * y_pred / 12, "mse_loss_grad (3, 4)")


# Binary cross-entropy from logits


@pytest.mark.exercise("binary_cross_entropy")
@pytest.mark.exercise("binary_cross_entropy_grad")
@pytest.mark.parametrize("shape", SHAPES)
def test_binary_cross_entropy_matches_torch(shape):
    rng = np.random.default_rng(100 + len(shape) * 10 + shape[0])
    logits = 4 * rng.normal(size=shape)
    for y in (rng.integers(0, 2, size=shape).astype(float), rng.uniform(size=shape)):  # hard, soft
        bce = functools.partial(F.binary_cross_entropy_with_logits, target=to_torch(y))
        value, (grad,) = value_and_grad(bce, logits)
        close(check_no_mutation(losses.binary_cross_entropy, logits, y), value, f"BCE {shape}")
        close(check_no_mutation(losses.binary_cross_entropy_grad, logits, y), grad, f"BCE grad {shape}")


@pytest.mark.exercise("binary_cross_entropy")
@pytest.mark.exercise("binary_cross_entropy_grad")
def test_binary_cross_entropy_is_stable_at_extreme_logits():
    logits = np.array([[1e4, -1e4], [50.0, -50.0], [800.0, -800.0], [-1e4, 1e4]])
    y = np.array([[0.0, 1.0], [0.3, 0.6], [1.0, 0.0], [0.0, 1.0]])
    with no_numpy_warnings("binary_cross_entropy"):
        loss = losses.binary_cross_entropy(logits, y)
        grad = losses.binary_cross_entropy_grad(logits, y)
    value, (expected_grad,) = value_and_grad(lambda t: F.binary_cross_entropy_with_logits(t, to_torch(y)),
                                             logits)
    close(loss, value, "BCE at |logits| up to 1e4")
    close(grad, expected_grad, "BCE grad at |logits| up to 1e4")
    close(losses.binary_cross_entropy(np.array([1e4, -1e4]), np.array([0.0, 1.0])), 1e4,
          "BCE of two confident mistakes by 1e4")


# Softmax and cross-entropy


@pytest.mark.exercise("softmax")
@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_softmax_and_log_softmax_match_torch(shape):
    rng = np.random.default_rng(200 + shape[0] * shape[1])
    z = 3 * rng.normal(size=shape)
    probs = check_no_mutation(losses.softmax, z)
    close(probs, to_numpy(F.softmax(to_torch(z), dim=1)), f"softmax {shape}")
    close(probs.sum(axis=1), np.ones(shape[0]), f"softmax rows {shape}")
    close(check_no_mutation(losses.log_softmax, z), to_numpy(F.log_softmax(to_torch(z), dim=1)),
          f"log_softmax {shape}")


@pytest.mark.exercise("softmax")
def test_softmax_is_shift_invariant_and_stable():
    with no_numpy_warnings("softmax"):
        probs = losses.softmax(EXTREME)
        log_probs = losses.log_softmax(EXTREME)
    close(probs, to_numpy(F.softmax(to_torch(EXTREME), dim=1)), "softmax at |logits| up to 1e4")
    close(log_probs, to_numpy(F.log_softmax(to_torch(EXTREME), dim=1)), "log_softmax at |logits| up to 1e4")
    z = np.array([[0.5, -1.0, 2.0]])
    close(losses.softmax(z + 1e4), losses.softmax(z), "softmax(z + 1e4) == softmax(z)")


@pytest.mark.exercise("cross_entropy")
@pytest.mark.exercise("cross_entropy_grad")
@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_cross_entropy_matches_torch(shape):
    rng = np.random.default_rng(300 + shape[0] * shape[1])
    logits, y = 3 * rng.normal(size=shape), rng.integers(0, shape[1], size=shape[0])
    value, (grad,) = value_and_grad(lambda t: F.cross_entropy(t, labels(y)), logits)
    close(check_no_mutation(losses.cross_entropy, logits, y), value, f"cross_entropy {shape}")
    close(check_no_mutation(losses.cross_entropy_grad, logits, y), grad, f"cross_entropy_grad {shape}")


@pytest.mark.exercise("cross_entropy")
@pytest.mark.exercise("cross_entropy_grad")
def test_cross_entropy_is_stable_at_extreme_logits():
    y = np.array([0, 2, 2, 1, 0])
    with no_numpy_warnings("cross_entropy"):
        loss = losses.cross_entropy(EXTREME, y)
        grad = losses.cross_entropy_grad(EXTREME, y)
    value, (expected_grad,) = value_and_grad(lambda t: F.cross_entropy(t, labels(y)), EXTREME)
    close(loss, value, "cross_entropy at |logits| up to 1e4")
    close(grad, expected_grad, "cross_entropy_grad at |logits| up to 1e4")


# Means over the batch: a gradient without its 1/N is N times too large.


@pytest.mark.exercise("cross_entropy_grad")
@pytest.mark.exercise("binary_cross_entropy_grad")
@pytest.mark.exercise("mse_loss_grad")
def test_gradients_are_those_of_a_mean_over_the_batch():
    rng = np.random.default_rng(400)
    logits, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    _, (sum_grad,) = value_and_grad(lambda t: F.cross_entropy(t, labels(y), reduction="sum"), logits)
    close(losses.cross_entropy_grad(logits, y), sum_grad / 6, "cross_entropy_grad == sum-reduction grad / N")
    # the same batch twice: the same loss, half the gradient per row
    twice, y_twice = np.concatenate([logits, logits]), np.concatenate([y, y])
    close(losses.cross_entropy(twice, y_twice), losses.cross_entropy(logits, y),
          "cross_entropy of a doubled batch")
    close(losses.cross_entropy_grad(twice, y_twice)[:6], losses.cross_entropy_grad(logits, y) / 2,
          "cross_entropy_grad of a doubled batch")
    z, target = rng.normal(size=(5, 3)), rng.uniform(size=(5, 3))
    _, (sum_grad,) = value_and_grad(
        lambda t: F.binary_cross_entropy_with_logits(t, to_torch(target), reduction="sum"), z)
    close(losses.binary_cross_entropy_grad(z, target), sum_grad / 15, "BCE grad == sum-reduction grad / 15")
    _, (sum_grad,) = value_and_grad(lambda t: F.mse_loss(t, to_torch(target), reduction="sum"), z)
    close(losses.mse_loss_grad(z, target), sum_grad / 15, "MSE grad == sum-reduction grad / 15")


@pytest.mark.exercise("cross_entropy_grad")
@pytest.mark.exercise("binary_cross_entropy_grad")
@pytest.mark.exercise("mse_loss_grad")
def test_gradients_pass_a_numerical_gradient_check():
    rng = np.random.default_rng(500)
    logits, y = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    grad_check(lambda: losses.cross_entropy(logits, y), {"logits": logits},
               {"logits": losses.cross_entropy_grad(logits, y)})
    z, target = rng.normal(size=(3, 4)), rng.uniform(size=(3, 4))
    grad_check(lambda: losses.binary_cross_entropy(z, target), {"z": z},
               {"z": losses.binary_cross_entropy_grad(z, target)})
    grad_check(lambda: losses.mse_loss(z, target), {"z": z}, {"z": losses.mse_loss_grad(z, target)})
