"""The gradient check: right gradients pass, a planted wrong one is caught with a useful message."""

import numpy as np
import pytest

from autograder import central_differences, checked_indices, grad_check, relative_error
from autograder.tolerances import GRAD_CHECK_MAX_ENTRIES


def linear_loss(rng):
    X = rng.normal(size=(5, 4))
    W = rng.normal(size=(4, 3))
    upstream = rng.normal(size=(5, 3))
    return X, W, upstream, (lambda: float(np.sum((X @ W) * upstream)))


def test_right_gradient_passes():
    rng = np.random.default_rng(0)
    X, W, upstream, f = linear_loss(rng)
    grad_check(f, {"W": W, "X": X}, {"W": X.T @ upstream, "X": upstream @ W.T})


def test_planted_wrong_gradient_is_caught_and_named():
    rng = np.random.default_rng(1)
    X, W, upstream, f = linear_loss(rng)
    wrong = X.T @ upstream
    wrong[2, 1] += 0.5
    with pytest.raises(AssertionError) as info:
        grad_check(f, {"W": W}, {"W": wrong})
    message = str(info.value)
    assert "'W'" in message and "(2, 1)" in message and "relative error" in message


def test_missing_factor_of_batch_size_is_caught():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(8, 3))

    def mean_square():
        return float(np.mean(X**2))

    with pytest.raises(AssertionError, match="threshold"):
        grad_check(mean_square, {"X": X}, {"X": 2 * X})  # forgot the 1/N
    grad_check(mean_square, {"X": X}, {"X": 2 * X / X.size})


def test_wrong_gradient_shape_and_missing_gradient():
    rng = np.random.default_rng(3)
    X, W, upstream, f = linear_loss(rng)
    with pytest.raises(AssertionError, match=r"expected shape \(4, 3\)"):
        grad_check(f, {"W": W}, {"W": (X.T @ upstream).T})
    with pytest.raises(AssertionError, match="no analytic gradient for 'W'"):
        grad_check(f, {"W": W}, {})


def test_inputs_are_restored_even_if_f_raises():
    x = np.arange(4.0)
    before = x.copy()

    def explode():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        central_differences(explode, x)
    np.testing.assert_array_equal(x, before)
    central_differences(lambda: float(np.sum(x**2)), x)
    np.testing.assert_array_equal(x, before)


def test_central_differences_is_central_and_float64_only():
    x = np.array([1.0, -2.0, 3.0])
    grad = central_differences(lambda: float(np.sum(x**3)), x)
    # Central differences of x**3 err by h**2 = 1e-10; forward ones by 3*x*h = 1e-5.
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-9)
    with pytest.raises(TypeError, match="float64"):
        central_differences(lambda: 0.0, x.astype(np.float32))


def test_small_arrays_are_checked_everywhere_large_ones_sampled():
    assert len(checked_indices((3, 4))) == 12
    sample = checked_indices((100, 100))
    assert len(sample) == GRAD_CHECK_MAX_ENTRIES == len(set(sample))
    assert sample == checked_indices((100, 100)), "the sample must be reproducible"


def test_relative_error_formula():
    assert relative_error(np.array([1.0]), np.array([1.0])) == 0.0
    assert relative_error(np.array([1.0, 0.0]), np.array([3.0, 0.0])) == pytest.approx(0.5)
    assert relative_error(np.zeros(2), np.full(2, 1e-12)) == pytest.approx(1e-4)


def test_tiny_right_gradients_pass_tiny_wrong_ones_fail():
    # f is about 100 but its gradient entries are about 1e-7: central differences know
    # them only to ~1e-10, a relative error of ~1e-3 for a right answer...
    rng = np.random.default_rng(0)
    x = rng.normal(size=6) * 1e-6

    def f():
        return float(100.0 + 0.5 * np.sum(x**2))

    with pytest.raises(AssertionError):
        grad_check(f, {"x": x}, {"x": x.copy()}, atol=0.0)  # the formula alone is too strict
    grad_check(f, {"x": x}, {"x": x.copy()})  # the absolute floor lets the right answer pass
    # ...while a wrong gradient of ordinary size is still caught.
    y = rng.normal(size=4)
    with pytest.raises(AssertionError, match="relative error"):
        grad_check(lambda: float(0.5 * np.sum(y**2)), {"y": y}, {"y": 1.01 * y})


def test_nan_gradient_fails():
    x = np.array([1.0, 2.0])
    with pytest.raises(AssertionError, match="Gradient check failed"):
        grad_check(lambda: float(np.sum(x**2)), {"x": x}, {"x": np.array([2.0, np.nan])})
