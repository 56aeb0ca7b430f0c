"""The checks catch what they promise (planted bugs) and pass what is right."""

import numpy as np
import pytest

from autograder import (
    check_close,
    check_equal,
    check_finite,
    check_no_mutation,
    check_own_code,
    check_shape,
    check_type,
    no_numpy_warnings,
)
from autograder.tolerances import ATOL, RTOL


def test_check_close_passes_within_tolerance():
    expected = np.linspace(-1, 1, 12).reshape(3, 4)
    check_close(expected * (1 + RTOL / 10), expected, name="x")
    check_close(0.5 + ATOL / 10, 0.5, name="scalar")
    check_close(np.float64(2.0), 2.0, name="numpy scalar")


def test_check_close_reports_first_and_worst_index():
    expected = np.zeros((3, 4))
    actual = expected.copy()
    actual[1, 2] = 1e-3
    actual[2, 3] = 5.0
    with pytest.raises(AssertionError) as info:
        check_close(actual, expected, name="dW")
    message = str(info.value)
    assert "dW" in message and "2 of 12 entries differ" in message
    assert "(1, 2)" in message and "Largest error 5 at index (2, 3)" in message


def test_wrong_shape_is_caught_before_values_with_a_hint():
    with pytest.raises(AssertionError, match=r"expected shape \(3, 2\), got shape \(2, 3\).*transpose"):
        check_close(np.zeros((2, 3)), np.zeros((3, 2)), name="out")
    with pytest.raises(AssertionError, match=r"keepdims"):
        check_shape(np.zeros(3), (3, 1), name="out")
    with pytest.raises(AssertionError, match=r"axes"):
        check_shape(np.zeros((3, 4)), (3,), name="out")


def test_wrong_type_is_caught_first():
    with pytest.raises(AssertionError, match=r"expected a NumPy array, got a list"):
        check_close([0.0, 1.0], np.array([0.0, 1.0]), name="out")
    with pytest.raises(AssertionError, match=r"forget to `return`"):
        check_close(None, np.array([0.0]), name="out")
    with pytest.raises(AssertionError, match=r"single number"):
        check_close(np.array([1.0, 2.0]), 1.0, name="loss")
    with pytest.raises(AssertionError, match=r"expected an int"):
        check_type(1.5, int, name="count")


def test_non_finite_values_are_named():
    with pytest.raises(AssertionError, match=r"not finite"):
        check_close(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(AssertionError, match=r"index \(1,\)"):
        check_finite(np.array([0.0, np.inf]))


def test_check_equal():
    check_equal(4097, 4097, name="count")
    check_equal(np.int64(3), 3, name="pieces")
    with pytest.raises(AssertionError, match=r"expected 4097, got an int \(4096\)"):
        check_equal(4096, 4097, name="count")
    with pytest.raises(AssertionError, match=r"index \(2,\)"):
        check_equal(np.array([1, 2, 4]), np.array([1, 2, 3]), name="labels")


def test_in_place_mutation_is_caught():
    def relu_in_place(x):
        x[x < 0] = 0
        return x

    def relu(x):
        return np.maximum(x, 0)

    x = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(check_no_mutation(relu, x), [0.0, 2.0])
    with pytest.raises(AssertionError, match=r"modified its argument number 1 in place"):
        check_no_mutation(relu_in_place, np.array([-1.0, 2.0]))

    def update_dict(params, lr=0.1):
        params["W"] -= lr
        return params

    with pytest.raises(AssertionError, match=r"argument number 1"):
        check_no_mutation(update_dict, {"W": np.ones(2)})


def test_numpy_warnings_become_failures():
    with pytest.raises(AssertionError, match=r"floating-point warning.*overflow"):
        with no_numpy_warnings("naive sigmoid"):
            1 / (1 + np.exp(-np.array([-1e4])))
    with no_numpy_warnings("stable"):
        np.exp(-np.array([1e4]))  # underflow to 0 is fine


def test_own_code_check_rejects_library_functions():
    from autograder.reference.activations import relu

    with pytest.raises(AssertionError, match=r"autograder.reference.activations"):
        check_own_code(relu)
    namespace = {"__name__": "__main__"}
    exec("def relu(z):\n    return z", namespace)
    check_own_code(namespace["relu"])


def test_an_rng_argument_may_advance():
    def noisy(x, rng):
        return x + rng.normal(size=x.shape)

    check_no_mutation(noisy, np.zeros(3), np.random.default_rng(0))
