"""The checks catch what they promise (planted bugs) and pass what is right."""

import warnings

import numpy as np
import pytest

from autograder import (
    RUNNING_STATISTICS_HINT,
    CheckFailed,
    check_close,
    check_dtype,
    check_equal,
    check_finite,
    check_no_mutation,
    check_own_code,
    check_raises,
    check_returns,
    check_shape,
    check_type,
    grad_check,
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
    with pytest.raises(AssertionError, match=r"One axis too many: sum over axis 1"):
        check_shape(np.zeros((3, 4)), (3,), name="out")
    with pytest.raises(AssertionError, match=r"axes"):
        check_shape(np.zeros((3, 4)), (2,), name="out")


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


# --- Hints that name the mistake: each planted bug gets its own ---------------------------------


def test_float32_result_is_named():
    expected = np.array([0.1, 0.2, 0.3])
    with pytest.raises(CheckFailed, match=r"your result is float32: compute in float64 \(NumPy's "
                                          r"default\), e\.g\. don't use np\.float32 / astype"):
        check_close((expected * (1 + 1e-6)).astype(np.float32), expected, name="sigmoid(z)")


def test_a_constant_factor_is_named():
    expected = np.array([[0.5, -1.0], [2.0, 0.25]])
    with pytest.raises(CheckFailed, match=r"every entry is 4\.0x the expected value .*1/N"):
        check_close(4 * expected, expected, name="dW")
    with pytest.raises(CheckFailed, match=r"every entry is 0\.25x the expected value \(4\.0x too small\)"):
        check_close(expected / 4, expected, name="dW")
    with pytest.raises(CheckFailed, match=r"opposite sign"):
        check_close(-expected, expected, name="dW")
    with pytest.raises(CheckFailed, match=r"your value is 8\.0x the expected value"):
        check_close(8 * 0.125, 0.125, name="loss")  # a loss summed over N = 8 instead of averaged
    with pytest.raises(CheckFailed) as info:
        check_close(0.7, 0.5, name="loss")  # one number off by a factor that is no N: no guess
    assert "Hint" not in str(info.value)


def test_a_transposed_weight_is_named():
    W = np.arange(6.0).reshape(3, 2)
    with pytest.raises(CheckFailed, match=r"transposed weight\? this course stores W as \(in, out\)"):
        check_close(W.T, W, name="dW")
    square = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(CheckFailed, match=r"equals the expected one transposed: a transposed weight\?"):
        check_close(square.T, square, name="dWh")


def test_a_sum_over_the_wrong_axis_is_named():
    dout = np.arange(12.0).reshape(4, 3)  # N = 4 examples, M = 3 units
    with pytest.raises(CheckFailed, match=r"expected shape \(3,\), got shape \(4,\).*wrong axis\? "
                                          r"Sum over axis 0, the batch"):
        check_close(dout.sum(axis=1), dout.sum(axis=0), name="db")
    with pytest.raises(CheckFailed, match=r"One axis too many: sum over axis 0, the batch"):
        check_close(dout, dout.sum(axis=0), name="db")


def test_none_returned_and_none_in_a_tuple_are_told_apart():
    with pytest.raises(CheckFailed, match=r"got None \(did the function forget to `return`\?\)"):
        check_close(None, np.zeros(2), name="out")
    with pytest.raises(CheckFailed, match=r"linear_forward returned None: did the function forget"):
        check_returns(None, ("out", "cache"), name="linear_forward")
    out = np.zeros(2)
    with pytest.raises(CheckFailed, match=r"the cache \(item 2 of the returned tuple\) is None") as info:
        check_returns((out, None), ("out", "cache"), name="linear_forward")
    assert "forget to `return`" not in str(info.value)
    with pytest.raises(CheckFailed, match=r"the cache \(item 2 of the returned tuple\) is None") as info:
        check_type(None, tuple, name="cache")
    assert "forget to `return`" not in str(info.value)
    with pytest.raises(CheckFailed, match=r"expected a NumPy array, got a tuple of 2 items; item 2"):
        check_close((out, None), out, name="out")
    with pytest.raises(CheckFailed, match=r"expected a tuple \(out, cache\) of 2 items, got a NumPy"):
        check_returns(out, ("out", "cache"), name="relu_forward")
    assert check_returns((out, (out,)), ("out", "cache"))[0] is out


def naive_log_softmax(z):
    return np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))


def naive_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_inf_from_log_of_zero_gets_log_softmax_advice():
    z = np.array([[0.0, -800.0]])
    with np.errstate(all="ignore"):
        got = naive_log_softmax(z)
    with pytest.raises(CheckFailed, match=r"log of 0 gives -inf: compute the log-probabilities with "
                                          r"log-softmax / logaddexp, not log\(softmax\)") as info:
        check_close(got, np.array([[0.0, -800.0]]), name="log_softmax")
    assert "exp(-np.abs(z))" not in str(info.value)


def test_overflow_advice_does_not_lead_into_np_where():
    with np.errstate(all="ignore"):
        got = np.exp(np.array([1e4])) / (1 + np.exp(np.array([1e4])))  # the "z < 0" branch at 1e4
    with pytest.raises(CheckFailed) as info:
        check_close(got, np.array([1.0]), name="sigmoid(1e4)")
    message = str(info.value)
    assert "np.exp(-np.abs(z)) once" in message and "np.where evaluates both branches" in message
    # the advice's own formula is overflow-free at both extremes
    z = np.array([-1e4, -1.0, 0.0, 2.0, 1e4])
    with no_numpy_warnings("the hint's sigmoid"):
        e = np.exp(-np.abs(z))
        check_close(np.where(z >= 0, 1, e) / (1 + e), 0.5 * (1 + np.tanh(z / 2)), name="sigmoid")


def test_no_numpy_warnings_advice_matches_the_warning():
    with pytest.raises(CheckFailed, match=r"divide by zero encountered in log.*log of 0 gives -inf") as info:
        with no_numpy_warnings("cross_entropy"):
            naive_log_softmax(np.array([[0.0, -800.0]]))
    assert "exp(-np.abs(z))" not in str(info.value), "log advice, not sigmoid advice"
    with pytest.raises(CheckFailed, match=r"overflow encountered in exp.*np\.exp\(-np\.abs\(z\)\) once"):
        with no_numpy_warnings("sigmoid"):
            naive_sigmoid(np.array([-1e4]))
    with pytest.raises(CheckFailed, match=r"invalid value.*NaN comes from"):
        with no_numpy_warnings("normalize"):
            np.zeros(2) / np.zeros(2)


def test_no_numpy_warnings_cannot_be_silenced_by_earlier_settings():
    previous = np.seterr(all="ignore")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(CheckFailed, match="overflow encountered in exp"):
                with no_numpy_warnings("naive sigmoid"):
                    naive_sigmoid(np.array([-1e4]))
        assert np.geterr()["over"] == "ignore", "the caller's error state is restored"
    finally:
        np.seterr(**previous)


def test_hint_parameter_is_appended_to_any_failure():
    running_var = np.array([1.0, 2.0])
    with pytest.raises(CheckFailed, match=r"2 entries differ.*PyTorch's momentum weighs the NEW batch "
                                          r"statistic.*does not include eps"):
        check_close(running_var + 0.1, running_var, name="running var", hint=RUNNING_STATISTICS_HINT)
    with pytest.raises(CheckFailed, match=r"expected shape \(2,\).* Wh is \(H, H\)"):
        check_close(np.zeros(3), running_var, name="h", hint="Wh is (H, H).")
    with pytest.raises(CheckFailed, match=r"expected 3, got.*Count rows\."):
        check_equal(2, 3, name="n", hint="Count rows.")
    check_close(running_var, running_var, hint=RUNNING_STATISTICS_HINT)  # a pass stays silent


# --- check_dtype and check_raises ---------------------------------------------------------------


def test_check_dtype():
    check_dtype(np.zeros(3))
    check_dtype(0.5)
    check_dtype(np.arange(3), np.int64, name="labels")
    with pytest.raises(CheckFailed, match=r"slopes: expected dtype float64, got float32\. your result "
                                          r"is float32: compute in float64"):
        check_dtype(np.zeros(3, dtype=np.float32), name="slopes")
    with pytest.raises(CheckFailed, match=r"expected dtype float64, got bool\. Return numbers"):
        check_dtype(np.array([True, False]), name="relu_grad(z)")
    with pytest.raises(CheckFailed, match=r"expected dtype int64, got float64\. Labels"):
        check_dtype(np.array([0.5]), np.int64, name="predictions")
    with pytest.raises(CheckFailed, match=r"expected a NumPy array, got a list"):
        check_dtype([1.0], name="x")


def test_check_raises():
    def one_hot(y, n):
        if np.any(y >= n):
            raise ValueError(f"label {y.max()} is not in [0, {n})")
        return np.eye(n)[y]

    error = check_raises(one_hot, np.array([0, 9]), 9, exception=ValueError, match="not in")
    assert isinstance(error, ValueError)
    with pytest.raises(CheckFailed, match=r"one_hot\(\[0, 1\], 9\) should raise ValueError, but it "
                                          r"returned a NumPy array of shape \(2, 9\)"):
        check_raises(one_hot, np.array([0, 1]), 9)
    with pytest.raises(CheckFailed, match=r"should raise ValueError, but raised IndexError: .*Raise "
                                          r"ValueError yourself"):
        check_raises(lambda y: np.eye(3)[y], np.array([5]), name="one_hot([5], 3)")
    with pytest.raises(CheckFailed, match=r"raised ValueError as it should, but its message .* does "
                                          r"not say 'range'"):
        check_raises(one_hot, np.array([9]), 9, match="range")
    with pytest.raises(NotImplementedError):  # a stub stays a stub, for exercise() to name
        check_raises(lambda: (_ for _ in ()).throw(NotImplementedError()))


# --- Verdicts student code cannot bend ----------------------------------------------------------


def test_subclasses_and_lookalikes_are_refused():
    class Agreeable(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), dtype=bool)

    class Anything:
        def __array__(self, dtype=None, copy=None):
            return np.array([0.5])

        def __eq__(self, other):
            return True

    fake = np.zeros(2).view(Agreeable)
    with pytest.raises(CheckFailed, match=r"expected a NumPy array, got Agreeable \(a subclass of "
                                          r"np\.ndarray\)"):
        check_close(fake, np.array([1.0, 2.0]), name="out")
    with pytest.raises(CheckFailed, match=r"Agreeable \(a subclass"):
        check_equal(fake, np.array([1.0, 2.0]), name="out")
    with pytest.raises(CheckFailed, match=r"value to compare with must be a NumPy array or a number, "
                                          r"got Agreeable \(a subclass"):
        check_close(np.zeros(2), np.ones(2) * fake, name="out == x * cache")
    with pytest.raises(CheckFailed, match=r"got an Anything \(a type of its own"):
        check_close(Anything(), np.array([0.5]), name="out")
    with pytest.raises(CheckFailed, match=r"got an Anything"):
        check_close(Anything(), 0.5, name="loss")
    with pytest.raises(CheckFailed, match=r"got an Anything"):
        check_equal(Anything(), 3, name="count")
    with pytest.raises(CheckFailed, match=r"dtype object"):
        boxed = np.empty(1, dtype=object)
        boxed[0] = Anything()
        check_close(boxed, np.array([0.5]), name="out")

    class Liar(float):
        def __ne__(self, other):
            return False

    with pytest.raises(CheckFailed, match=r"got a Liar"):
        check_equal(Liar(1.0), 2.0, name="x")


def test_patched_numpy_comparisons_change_no_verdict(monkeypatch):
    for function in ("isclose", "allclose", "array_equal", "array_equiv", "isfinite", "abs"):
        monkeypatch.setattr(np, function, lambda *args, **kwargs: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *args, **kwargs: None)
    with pytest.raises(CheckFailed, match="1 of 2 entries differ"):
        check_close(np.array([0.0, 1.0]), np.array([0.0, 2.0]), name="relu_grad")
    with pytest.raises(CheckFailed, match="first difference at index"):
        check_equal(np.array([1, 2]), np.array([1, 3]), name="labels")
    with pytest.raises(CheckFailed, match="not finite"):
        check_close(np.array([np.inf]), np.array([1.0]), name="x")
    x = np.array([1.0, 2.0])
    with pytest.raises(CheckFailed, match="relative error"):
        grad_check(lambda: float((x**2).sum()), {"x": x}, {"x": 3 * x})


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)
    with pytest.raises(AssertionError):
        check_close(1.0, 2.0)


def test_a_float32_near_miss_names_the_dtype_and_no_scale_factor():
    expected = np.array([0.1, 0.2, 0.3]) / 3
    actual = (expected * (1 + 5e-7)).astype(np.float32)  # off by ~5e-7 everywhere: float32 work
    with pytest.raises(AssertionError) as caught:
        check_close(actual, expected, name="result")
    message = str(caught.value)
    assert "float32" in message and "x the expected value" not in message, message


# --- Hint codes: the kind of mistake, for the grader (CheckFailed.hint) ------------------------

RNG = np.random.default_rng(3)
X_BATCH, W_LAYER, B_LAYER = RNG.normal(size=(5, 4)), RNG.normal(size=(4, 3)), RNG.normal(size=3)


def _mutate(x):
    x[0] = 1.0
    return x


def _sorry(x):
    raise TypeError("no")


# (what fails, the code it must carry, words its message must hold)
HINT_CASES = {
    "float32 dtype": (lambda: check_dtype(np.zeros(2, np.float32)), "float32", ["float32"]),
    "float32 values": (lambda: check_close(X_BATCH.astype(np.float32) @ W_LAYER.astype(np.float32),
                                           X_BATCH @ W_LAYER), "float32", ["float32"]),
    "float32 along the way": (lambda: check_close(
        X_BATCH.astype(np.float32) @ W_LAYER.astype(np.float32) + B_LAYER, X_BATCH @ W_LAYER + B_LAYER,
        name="dense_forward against torch.nn.Linear"), "float32", ["float32", "float64"]),
    "transposed shape": (lambda: check_shape(np.zeros((3, 4)), (4, 3)), "transposed_weight", ["(in, out)"]),
    "transposed values": (lambda: check_close(np.arange(4.0).reshape(2, 2), np.arange(4.0).reshape(2, 2).T),
                          "transposed_weight", ["transposed"]),
    "permuted axes": (lambda: check_shape(np.zeros((2, 3, 4)), (4, 2, 3)), "transpose", ["transpose"]),
    "sum over the wrong axis": (lambda: check_shape(np.zeros(5), (3,)), "wrong_axis", ["axis"]),
    "one axis too many": (lambda: check_shape(np.zeros((5, 3)), (3,)), "wrong_axis", ["axis 0"]),
    "keepdims": (lambda: check_shape(np.zeros(3), (3, 1)), "reshape", ["keepdims"]),
    "np.max(z, 0) on a matrix": (lambda: check_shape(np.max(np.ones((4, 3)), 0), (4, 3)),
                                 "np_max_vs_maximum", ["np.maximum"]),
    "np.max(z, 0) on a vector": (lambda: check_close(np.max(np.array([-1.0, 2.0]), 0), np.array([0.0, 2.0]),
                                                     name="relu"),
                                 "np_max_vs_maximum", ["np.maximum", "float64"]),
    "a different number of axes": (lambda: check_shape(np.zeros((2, 2, 2)), (3,)), "broadcast", ["axes"]),
    "missing bias": (lambda: check_close(X_BATCH @ W_LAYER, X_BATCH @ W_LAYER + B_LAYER), "missing_bias",
                     ["bias"]),
    "missing scalar bias": (lambda: check_close(X_BATCH @ W_LAYER[:, 0], X_BATCH @ W_LAYER[:, 0] + 0.5),
                            "missing_bias", ["bias", "0.5"]),
    "sign": (lambda: check_close(-np.arange(1.0, 4.0), np.arange(1.0, 4.0)), "sign", ["sign"]),
    "zeros": (lambda: check_close(np.zeros(3), np.arange(1.0, 4.0)), "all_zero", ["missing"]),
    "N times too large": (lambda: check_close(4 * np.arange(1.0, 4.0), np.arange(1.0, 4.0)),
                          "scale_too_large", ["1/N"]),
    "N times too small": (lambda: check_close(np.arange(1.0, 4.0) / 4, np.arange(1.0, 4.0)),
                          "scale_too_small", ["too small"]),
    "log(0)": (lambda: check_finite(np.array([-np.inf])), "log_zero", ["log-softmax"]),
    "overflow": (lambda: check_finite(np.array([np.inf]), name="softmax"), "overflow", ["row's max"]),
    "nan": (lambda: check_finite(np.array([np.nan])), "nan", ["NaN"]),
    "booleans": (lambda: check_dtype(np.array([True])), "boolean_result", ["booleans"]),
    "integers": (lambda: check_dtype(np.array([1])), "integer_result", ["Integers"]),
    "float labels": (lambda: check_dtype(np.array([1.0]), np.int64), "integer_labels", ["int64"]),
    "None": (lambda: check_type(None, np.ndarray), "returned_none", ["return"]),
    "None cache": (lambda: check_returns((1, None), ("out", "cache")), "missing_cache", ["cache"]),
    "not a tuple": (lambda: check_returns(np.zeros(2), ("out", "cache")), "wrong_tuple", ["tuple"]),
    "a list": (lambda: check_type([1.0], np.ndarray), "not_an_array", ["list"]),
    "mutation": (lambda: check_no_mutation(_mutate, np.zeros(2)), "mutation", ["in place"]),
    "library code": (lambda: check_own_code(np.maximum), "not_own_code", ["module"]),
    "no raise": (lambda: check_raises(abs, 1.0), "no_raise", ["should raise"]),
    "another exception": (lambda: check_raises(_sorry, 1.0), "wrong_exception", ["TypeError"]),
    "a vague message": (lambda: check_raises(_sorry, 1.0, exception=TypeError, match="label"),
                        "exception_message", ["label"]),
    "a wrong gradient": (lambda: grad_check(lambda: float((X_BATCH ** 2).sum()), {"x": X_BATCH},
                                            {"x": X_BATCH}), "gradient", ["central"]),
    "a missing gradient": (lambda: grad_check(lambda: 0.0, {"x": X_BATCH}, {}), "missing_gradient", ["'x'"]),
    "momentum convention": (lambda: check_close(np.ones(2), np.zeros(2), hint=RUNNING_STATISTICS_HINT),
                            "batchnorm_momentum", ["momentum"]),
    "a free-text hint keeps the check's code": (lambda: check_shape(np.zeros(5), (3,), hint="Sum rows."),
                                                "wrong_axis", ["Sum rows."]),
}


@pytest.mark.parametrize("case", HINT_CASES)
def test_each_recognisable_mistake_carries_its_code(case):
    from autograder.hints import HINT_CODES

    failing, code, words = HINT_CASES[case]
    with pytest.raises(CheckFailed) as info:
        with np.errstate(all="ignore"):
            failing()
    assert info.value.hint == code, f"{case}: code {info.value.hint!r}, expected {code!r}: {info.value}"
    assert code in HINT_CODES
    for word in words:
        assert word in str(info.value), f"{case}: {word!r} not in {info.value}"


def test_a_mistake_without_a_shape_has_no_code():
    with pytest.raises(CheckFailed) as info:
        check_close(np.array([1.0, 5.0, 2.0]), np.array([1.0, 2.0, 7.0]))
    assert info.value.hint is None and "Hint" not in str(info.value)


def test_floating_point_warnings_carry_their_code_and_the_recipe_of_the_function_named():
    def tanh_by_definition(z):
        return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))

    with pytest.raises(CheckFailed) as info:
        with no_numpy_warnings("tanh at z = -1e4 and 1e4"):
            tanh_by_definition(np.array([-1e4, 1e4]))
    message = str(info.value)
    assert info.value.hint == "overflow" and "np.exp(-2 * np.abs(z))" in message
    assert "sigmoid" not in message and "softmax" not in message, "tanh's advice, not sigmoid's or softmax's"
    with pytest.raises(CheckFailed) as info:
        with no_numpy_warnings("cross_entropy"):
            naive_log_softmax(np.array([[0.0, -800.0]]))
    assert info.value.hint == "log_zero"
    with pytest.raises(CheckFailed) as info:
        with no_numpy_warnings("normalize"):
            np.ones(2) / np.zeros(2)
    assert info.value.hint == "divide_by_zero"
    with pytest.raises(CheckFailed) as info:
        with no_numpy_warnings("a function"):
            naive_sigmoid(np.array([-1e4]))
    assert "sigmoid(z) =" not in str(info.value), "no recipe for a function the check does not name"


def test_a_check_failure_keeps_its_code_through_pickling():
    import pickle

    error = pickle.loads(pickle.dumps(CheckFailed("x", hint="float32")))
    assert error.hint == "float32" and str(error) == "x"
