"""The checks' hints: one stable code per recognisable mistake, and the advice that names it.

A failing check raises ``CheckFailed`` with ``.hint`` set to one of these codes (or None when
the mistake has no recognisable shape), and ``exercise(...)`` publishes it beside the message
(``CHECK_MIMETYPE``), so that the grader can count mistakes by kind without parsing English.
A code is a contract with every record already written: add codes, never rename one.

The functions below read a wrong result's shape, dtype or values and return the sentence to
append to a check's message, with its code; ``checks.py`` decides pass or fail.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Bound once, as in checks.py: a notebook that rebinds np.isclose changes no hint.
from numpy import abs as _abs
from numpy import isclose as _isclose
from numpy import isfinite as _isfinite

from .i18n import N_, _

# A display_data output of this type, published by ``exercise`` when its block fails, holds
# {"exercise": name, "hint": code or None, "message": the learner's message}.
CHECK_MIMETYPE = "application/vnd.backprop-lab.check+json"

# code -> what the mistake is, in a few words (the class report's label).
HINT_CODES: dict[str, str] = {
    "float32": "a float32 (or float16) result where float64 belongs",
    "transposed_weight": "a transposed weight (this course stores W as (in, out))",
    "transpose": "a missing or extra transpose",
    "wrong_axis": "a sum or mean over the wrong axis",
    "np_max_vs_maximum": "a reduction (np.max) where an element-wise np.maximum belongs",
    "reshape": "a reshape or keepdims gone wrong",
    "broadcast": "a wrong number of axes (a broadcast or a reduction)",
    "missing_bias": "a missing or wrong bias (every row off by the same vector)",
    "sign": "a flipped sign",
    "all_zero": "all zeros: a missing term or update",
    "scale_too_large": "N times too large (a sum where a mean belongs)",
    "scale_too_small": "N times too small (a mean where a sum belongs)",
    "log_zero": "log(0): the log of a softmax instead of log-softmax",
    "overflow": "an exp() or product that overflows (no stable formula)",
    "nan": "NaN (inf - inf, 0 / 0, ...)",
    "divide_by_zero": "a division by zero",
    "boolean_result": "booleans where floats belong",
    "integer_result": "integers where floats belong",
    "integer_labels": "floats where integer labels or counts belong",
    "returned_none": "nothing returned (None)",
    "missing_cache": "a cache that is None",
    "wrong_tuple": "not the tuple the function must return",
    "not_an_array": "not a plain NumPy array",
    "mutation": "an argument modified in place",
    "not_own_code": "the course library's function instead of the learner's own",
    "no_raise": "invalid input accepted (no exception raised)",
    "wrong_exception": "another exception than the one required",
    "exception_message": "the right exception with a message that does not say what is wrong",
    "gradient": "a gradient that disagrees with central differences",
    "missing_gradient": "a gradient missing for an input or parameter",
    "batchnorm_momentum": "PyTorch's batch-norm momentum convention",
    "relu_grad_at_zero": "relu'(0) = 1 (z >= 0 where z > 0 belongs)",
    "not_implemented": "not attempted (the stub still raises NotImplementedError)",
}

WEIGHT_LAYOUT = N_("a transposed weight? this course stores W as (in, out), so that X @ W reads left "
                 "to right (torch.nn.Linear.weight is (out, in)).")

RUNNING_STATISTICS_HINT = N_(
    "PyTorch's momentum weighs the NEW batch statistic: running = (1 - momentum) * running + "
    "momentum * batch (CS231n uses the opposite); the running variance uses the unbiased batch "
    "variance (times N / (N - 1)) and does not include eps."
)
FLOAT32_HINT = N_("your result is {dtype}: compute in float64 (NumPy's default), e.g. don't use "
                "np.float32 / astype")
RELU_GRAD_AT_ZERO_HINT = N_("at exactly z = 0 the derivative is 0.0 (PyTorch's convention): use z > 0, "
                          "not z >= 0.")
LOG_HINT = N_(
    "log of 0 gives -inf: compute the log-probabilities with log-softmax / logaddexp, not "
    "log(softmax): log_softmax(z) = z - m - log(sum(exp(z - m))) with m the row's max; for a "
    "binary cross-entropy from a logit z, log(sigmoid(z)) = -np.logaddexp(0, -z)."
)
EXP_HINT = N_(
    "exp() of a large positive number overflows to inf (np.exp(710) already does). Rewrite the "
    "formula so that exp() sees only non-positive numbers: e.g. compute np.exp(-np.abs(z)) (between "
    "0 and 1) and build the result from it, with the sign of z where the formula needs it."
)
# The recipe for the function the failing check names; none when the name says nothing.
EXP_RECIPES = {
    "sigmoid": N_(
        "For a sigmoid: compute e = np.exp(-np.abs(z)) once (0 < e <= 1); then sigmoid(z) = 1 / (1 + e) "
        "for z >= 0 and e / (1 + e) for z < 0, i.e. np.where(z >= 0, 1, e) / (1 + e). Not "
        "np.where(z >= 0, 1/(1+np.exp(-z)), np.exp(z)/(1+np.exp(z))): np.where evaluates both "
        "branches, so one of them still overflows."),
    "tanh": N_("For tanh: e = np.exp(-2 * np.abs(z)) lies in (0, 1], and tanh(|z|) = (1 - e) / (1 + e); "
             "tanh is odd, so np.sign(z) gives back the sign."),
    "softmax": N_("For a softmax, subtract each row's max before exp() (it changes nothing else)."),
}
EXP_RECIPE_WORDS = {"sigmoid": ("sigmoid", "logistic"), "tanh": ("tanh",),
                    "softmax": ("softmax", "cross_entropy", "cross-entropy", "logits")}
NAN_HINT = N_(
    "NaN comes from inf - inf, inf / inf, 0 * inf, 0 / 0 or the log or square root of a negative "
    "number, usually after an exp() overflowed or a log(0) gave -inf."
)
OVERFLOW_HINT = N_("a value went past float64's largest, 1.8e308: look for a square or a product of "
                 "large numbers, or an exp() (subtract a maximum first).")
DIVIDE_HINT = N_("a division by zero: a standard deviation, a norm or a count that is 0. Add the "
               "formula's eps where it has one, or handle the empty case.")
BATCH_AXIS = N_("sum over axis 0, the batch (e.g. db = dout.sum(axis=0))")
NP_MAXIMUM_HINT = N_("a reduction where an element-wise result belongs? np.max(z, 0) takes the largest "
                   "entry along axis 0 (it removes an axis); np.maximum(z, 0) compares each entry "
                   "with 0 and keeps z's shape.")
# Texts a test passes as ``hint=`` that name a known mistake: their code.
TEXT_CODES = {RUNNING_STATISTICS_HINT: "batchnorm_momentum", RELU_GRAD_AT_ZERO_HINT: "relu_grad_at_zero"}


def exp_hint(name: str) -> str:
    """The exp advice, with the recipe for the function ``name`` speaks of (if any)."""
    lowered = name.lower()
    recipes = [_(EXP_RECIPES[key]) for key, words in EXP_RECIPE_WORDS.items()
               if any(word in lowered for word in words)]
    return " ".join([_(EXP_HINT), *recipes[:1]])


def float_error_hint(text: str, name: str = "") -> tuple[str, str]:
    """``(code, advice)`` matching NumPy's own words ("overflow encountered in exp")."""
    text = text.lower()
    if "log" in text and ("divide by zero" in text or "invalid value" in text):
        return "log_zero", _(LOG_HINT)
    if "overflow" in text and "exp" in text:
        return "overflow", exp_hint(name)
    if "overflow" in text:
        return "overflow", _(OVERFLOW_HINT)
    if "divide by zero" in text:
        return "divide_by_zero", _(DIVIDE_HINT)
    if "invalid value" in text:
        return "nan", _(NAN_HINT) + " " + exp_hint(name)
    return "nan", _("rearrange the formula so that extreme inputs stay finite.")


def shape_hint(shape: tuple[int, ...], expected: tuple[int, ...]) -> tuple[str, str | None]:
    """``(sentence, code)`` naming the mistake a wrong shape suggests; ``("", None)`` if none."""
    if len(shape) == len(expected) == 2 and shape == expected[::-1]:
        return " " + _("The same sizes in another order: {advice}").format(advice=_(WEIGHT_LAYOUT)), \
            "transposed_weight"
    if sorted(shape) == sorted(expected):
        return " " + _("The same sizes in another order: is a transpose missing or extra?"), "transpose"
    if len(shape) == len(expected) + 1:
        for axis in range(len(shape)):
            if shape[:axis] + shape[axis + 1:] == expected:
                where = _(BATCH_AXIS) if axis == 0 else _("sum over axis {axis}").format(axis=axis)
                return " " + _("One axis too many: {where}.").format(where=where), "wrong_axis"
    if len(shape) == len(expected) == 1:
        batch_axis = _(BATCH_AXIS)
        return " " + _("A vector of another length: a sum over the wrong axis? {batch_axis}; summing over "
                       "axis 1 gives one number per example.").format(
                           batch_axis=batch_axis[0].upper() + batch_axis[1:]), "wrong_axis"
    if math.prod(shape) == math.prod(expected):
        return " " + _("The same number of entries: check a reshape or a keepdims."), "reshape"
    if len(shape) + 1 == len(expected) and any(
            expected[:axis] + expected[axis + 1:] == shape for axis in range(len(expected))):
        return " " + _("One axis missing: {advice}").format(advice=_(NP_MAXIMUM_HINT)), "np_max_vs_maximum"
    if len(shape) != len(expected):
        return " " + _("A different number of axes: check a sum/mean axis or a broadcast."), "broadcast"
    return "", None


def non_finite_hint(array: np.ndarray, name: str) -> tuple[str, str]:
    """``(advice, code)`` for the kind of non-finite value: -inf, inf or NaN."""
    if (array == -np.inf).any():
        return _(LOG_HINT), "log_zero"
    if (array == np.inf).any():
        return exp_hint(name), "overflow"
    return f"{_(NAN_HINT)} {exp_hint(name)}", "nan"


def _ratio_text(ratio: float) -> str:
    return f"{ratio:.1f}" if abs(ratio - round(ratio)) < 1e-9 else f"{ratio:.4g}"


def value_hint(actual: Any, actual_array: np.ndarray, expected_array: np.ndarray,
                rtol: float, atol: float) -> tuple[str, str | None]:
    """``(" Hint: ...", code)`` naming the mistake when it has a recognisable shape, else ``("", None)``."""
    hints: list[tuple[str, str]] = []  # (code, sentence), the most specific first
    dtype = getattr(actual, "dtype", None)
    if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
        hints.append(("float32", _(FLOAT32_HINT).format(dtype=dtype.name) + "."))
    if (actual_array.ndim == 2 and actual_array.shape[0] == actual_array.shape[1] > 1
            and _isclose(actual_array, expected_array.T, rtol=rtol, atol=atol).all()):
        hints.append(("transposed_weight", _("Your result equals the expected one transposed: {advice}")
                      .format(advice=_(WEIGHT_LAYOUT))))
    if not (_isfinite(actual_array).all() and _isfinite(expected_array).all()):
        return _joined(hints)
    if not hints and _float32_sized(actual_array, expected_array):
        hints.append(("float32", _("the differences are the size of float32's rounding (about 1e-7 of the "
                                    "values): is something computed in float32 along the way "
                                    "(np.float32, astype(np.float32), a float32 input)? Keep every "
                                    "step in float64.")))
    nonzero = expected_array != 0
    zero_agrees = _isclose(actual_array[~nonzero], 0.0, rtol=0.0, atol=atol).all()
    found_scale = False
    if nonzero.any() and zero_agrees:
        ratios = actual_array[nonzero] / expected_array[nonzero]
        ratio = float(ratios.flat[0])
        constant = _isclose(ratios, ratio, rtol=1e-6, atol=0.0).all()
        # One entry always has "a constant ratio": then only a sign or a whole factor (an N)
        # counts as a pattern.
        factor = max(abs(ratio), 1 / abs(ratio)) if ratio != 0 else 0.0
        meaningful = ratios.size > 1 or (factor >= 2 and abs(factor - round(factor)) < 1e-6 * factor
                                         ) or abs(ratio + 1) < 1e-9
        several = expected_array.size > 1
        found_scale = constant and meaningful and abs(ratio - 1.0) >= 1e-3
        if constant and meaningful and ratio == 0:
            hints.append(("all_zero", _("every entry is 0: is an update or a term missing?") if several
                          else _("your value is 0: is an update or a term missing?")))
        elif constant and meaningful and _isclose(ratio, -1.0, rtol=1e-6, atol=0.0):
            hints.append(("sign", (_("every entry is the expected value with the opposite sign: a sign "
                                     "flipped (y - t where t - y belongs, or the gradient of -loss)?")
                                   if several else
                                   _("your value is the expected value with the opposite sign: a sign "
                                     "flipped (y - t where t - y belongs, or the gradient of -loss)?"))))
        elif abs(ratio - 1.0) < 1e-3:
            pass  # the right scale, slightly off (float32 rounding, a small bug): no scale hint
        elif constant and meaningful and abs(ratio) > 1:
            text = (_("every entry is {ratio}x the expected value — a sum where a mean belongs, or a "
                      "missing 1/N?") if several else
                    _("your value is {ratio}x the expected value — a sum where a mean belongs, or a "
                      "missing 1/N?"))
            hints.append(("scale_too_large", text.format(ratio=_ratio_text(ratio))))
        elif constant and meaningful:
            text = (_("every entry is {ratio}x the expected value ({inverse}x too small) — a mean where "
                      "a sum belongs, or a 1/N too many?") if several else
                    _("your value is {ratio}x the expected value ({inverse}x too small) — a mean where "
                      "a sum belongs, or a 1/N too many?"))
            hints.append(("scale_too_small", text.format(ratio=_ratio_text(ratio),
                                                         inverse=_ratio_text(1 / ratio))))
    if not found_scale and _offset_by_one_row(actual_array, expected_array, rtol, atol):
        text = (_("every row is off by the same amount (expected - got = {offset}): a missing, doubled or "
                  "wrong bias (+ b)?") if actual_array.ndim > 1 else
                _("every entry is off by the same amount (expected - got = {offset}): a missing, doubled "
                  "or wrong bias (+ b)?"))
        hints.append(("missing_bias", text.format(offset=_offset_text(expected_array, actual_array))))
    return _joined(hints)


def _joined(hints: list[tuple[str, str]]) -> tuple[str, str | None]:
    if not hints:
        return "", None
    return " " + _("Hint: {advice}").format(advice=" ".join(text for _code, text in hints)), hints[0][0]


def _float32_sized(actual_array: np.ndarray, expected_array: np.ndarray) -> bool:
    """Every entry within float32's rounding (a few 1e-7 of the values' size), some well past float64's."""
    scale = float(_abs(expected_array).max()) if expected_array.size else 0.0
    if scale == 0.0:
        return False
    error = _abs(actual_array - expected_array)
    # float32 rounds each product and sum: its errors scale with the array's values, not each entry's
    return bool((error <= 1e-6 * (_abs(expected_array) + scale)).all()
                and error.max() >= 1e-9 * scale)


def _offset_by_one_row(actual_array: np.ndarray, expected_array: np.ndarray,
                       rtol: float, atol: float) -> bool:
    """``expected - actual`` is the same row for every example (and not zero): a bias."""
    if actual_array.ndim == 0 or actual_array.shape[0] < 2:
        return False
    offset = expected_array - actual_array
    same_rows = _isclose(offset, offset[0], rtol=1e-9, atol=atol).all()
    return bool(same_rows and not _isclose(offset[0], 0.0, rtol=0.0, atol=atol + rtol * _abs(
        expected_array).max()).all())


def _offset_text(expected_array: np.ndarray, actual_array: np.ndarray) -> str:
    first = (expected_array - actual_array)[0]
    return f"{first:.4g}" if first.ndim == 0 else np.array2string(first, precision=4, threshold=6)


# -- For the grader: reading the verdicts ``exercise`` published into a cell's outputs -------------

def read_check_outputs(outputs: list[Any]) -> tuple[str | None, list[Any]]:
    """``(hint code, the outputs without any verdict)`` of one executed test cell.

    The code is the last verdict's (``exercise`` publishes when its block fails, after any output
    of the code it ran), kept only when it is a known code: student code can publish a look-alike.
    The verdicts are removed, so that no page shows them.
    """
    code, kept = None, []
    for output in outputs:
        data = output.get("data") if isinstance(output, dict) else None
        if not (isinstance(data, dict) and CHECK_MIMETYPE in data):
            kept.append(output)
            continue
        verdict = data[CHECK_MIMETYPE]
        hint = verdict.get("hint") if isinstance(verdict, dict) else None
        code = hint if isinstance(hint, str) and hint in HINT_CODES else None
    return code, kept
