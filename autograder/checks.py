"""Checks that test type, then shape, then values, with messages that teach.

Every check raises ``CheckFailed`` (an ``AssertionError``: nbgrader and pytest both
read it as a failed test) when it fails and returns nothing when it passes (except
``check_no_mutation``, ``check_returns`` and ``check_raises``, which hand back what
the call gave). Each message says what was expected, what came back, and where to
look; ``check_close`` adds a hint when the mistake has a recognisable shape (float32,
a constant factor, a transpose, a sum over the wrong axis, log(0), an overflowing exp).
Any check that takes ``hint=`` appends it to its message when it fails, for what only
the test knows (``RUNNING_STATISTICS_HINT`` is one). Every failure also carries a stable code
for its kind of mistake, ``CheckFailed.hint`` (``autograder.hints.HINT_CODES``: "float32",
"transposed_weight", "wrong_axis", ...; None when the mistake has no recognisable shape), for
the grader to count mistakes without parsing the English.

    >>> check_close(np.array([0.5, 0.2]), np.array([0.5, 0.2]), name="sigmoid(z)")

Verdicts that student code cannot bend:
- values are compared only when their type is exactly ``np.ndarray`` (of booleans,
  integers or floats) or a Python or NumPy number: a subclass of ``np.ndarray`` or an
  object with its own ``__eq__``/``__array__`` is refused, so no student-defined
  method runs inside a comparison;
- the NumPy functions a verdict relies on are bound here at import, so rebinding
  ``np.isclose`` or ``np.array_equal`` later changes nothing;
- ``no_numpy_warnings`` sets the floating-point error state itself, so an earlier
  ``np.seterr(all="ignore")`` or warnings filter cannot silence it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# Bound once, here: a notebook that later rebinds ``np.isclose`` (or any of these) changes
# nothing that a check decides.
from numpy import abs as _abs
from numpy import argwhere as _argwhere
from numpy import array as _array
from numpy import array_equal as _array_equal
from numpy import asarray as _asarray
from numpy import dtype as _dtype
from numpy import float64 as _float64
from numpy import isclose as _isclose
from numpy import isfinite as _isfinite
from numpy import nanargmax as _nanargmax
from numpy import ndarray as _ndarray
from numpy import unravel_index as _unravel_index

from .floating import no_numpy_warnings
from .hints import (
    FLOAT32_HINT,
    HINT_CODES,
    NP_MAXIMUM_HINT,
    RELU_GRAD_AT_ZERO_HINT,
    RUNNING_STATISTICS_HINT,
    TEXT_CODES,
    non_finite_hint,
    shape_hint,
    value_hint,
)
from .i18n import _
from .i18n import label as _label
from .progress import CheckFailed
from .tolerances import ATOL, RTOL

__all__ = [
    "CheckFailed",
    "HINT_CODES",
    "RELU_GRAD_AT_ZERO_HINT",
    "RUNNING_STATISTICS_HINT",
    "check_type",
    "check_shape",
    "check_dtype",
    "check_finite",
    "check_close",
    "check_equal",
    "check_returns",
    "check_raises",
    "check_no_mutation",
    "no_numpy_warnings",
    "check_own_code",
]

# --- Failures: the message, the test's own hint text, the code (hints.py) ----------------------


def _fail(message: str, hint: str | None = None, code: str | None = None) -> CheckFailed:
    """The failure: ``message`` plus the test's own ``hint`` text; the code of the mistake."""
    code = TEXT_CODES.get(hint or "") or code
    assert code is None or code in HINT_CODES, code  # a new code goes in hints.HINT_CODES first
    # A test's hint that the catalog knows (RUNNING_STATISTICS_HINT) is shown in the learner's language.
    return CheckFailed(f"{message} {_label(hint)}" if hint else message, hint=code)


# --- Types: only plain values are compared ----------------------------------------------------

_PYTHON_NUMBERS = (int, float, bool)
_NUMPY_NUMBERS = frozenset(
    t for t in np.sctypeDict.values() if issubclass(t, (np.bool_, np.integer, np.floating)))
_NUMERIC_KINDS = "biuf"


def _is_number(value: Any) -> bool:
    return type(value) in _PYTHON_NUMBERS or type(value) in _NUMPY_NUMBERS


def _is_array(value: Any) -> bool:
    return type(value) is _ndarray


def _a(noun: str) -> str:
    return (_("an {noun}") if noun[:1].lower() in "aeiou" else _("a {noun}")).format(noun=noun)


_PLAIN_REPR = (int, float, bool, complex, str, bytes, list, tuple, dict, set, frozenset)


def _describe(value: Any, name: str = "result") -> str:
    """What came back, in words, without running any method the value's class defines."""
    if _is_array(value):
        return _("a NumPy array of shape {shape} and dtype {dtype}").format(shape=value.shape,
                                                                            dtype=value.dtype)
    if isinstance(value, _ndarray):
        return _("{type} (a subclass of np.ndarray)").format(type=type(value).__name__)
    if value is None:
        if "cache" in name.lower():
            return _("None: the cache (item 2 of the returned tuple) is None. Build it in the "
                     "forward pass, from what the backward pass needs, and return `out, cache`")
        return _("None (did the function forget to `return`?)")
    if type(value) is tuple:
        nones = [i + 1 for i, item in enumerate(value) if item is None]
        extra = (_("; item {position} of the returned tuple is None").format(position=nones[0])
                 if nones else "")
        return _("a tuple of {count} items{extra}").format(count=len(value), extra=extra)
    if type(value) in _PLAIN_REPR or type(value) in _NUMPY_NUMBERS:
        return _("{a_type} ({value})").format(a_type=_a(type(value).__name__), value=repr(value))[:200]
    return _("{a_type} (a type of its own, not a NumPy array or a number)").format(
        a_type=_a(type(value).__name__))


def _numbers(value: Any, name: str) -> None:
    """Refuse an array of objects, strings or complex numbers."""
    if _is_array(value) and value.dtype.kind not in _NUMERIC_KINDS:
        raise CheckFailed(_("{name}: expected an array of numbers, got dtype {dtype}. "
                            "Build it with NumPy operations on floats.").format(name=_label(name),
                                                                               dtype=value.dtype))


def _expected_array(expected: Any, name: str) -> Any:
    """The expected value as a float64 array (a test's input: lists and tuples are fine).

    It is held to the same rule as the result, since a test may build it from a result
    (``x * cache``): a failure, not a crash of the check."""
    if (_is_array(expected) and expected.dtype.kind in _NUMERIC_KINDS) or _is_number(expected):
        return _asarray(expected, dtype=_float64)
    if type(expected) in (list, tuple) and _plain(expected):
        return _array(expected, dtype=_float64)
    raise CheckFailed(_("{name}: the value to compare with must be a NumPy array or a number, got "
                        "{got}; was it built from a result of another type?").format(
                            name=_label(name), got=_describe(expected)))


# --- The checks -------------------------------------------------------------------------------


def check_type(value: Any, expected_type: type | tuple[type, ...], name: str = "result",
               hint: str | None = None) -> None:
    """Assert ``isinstance(value, expected_type)``; ``np.ndarray`` means exactly ``np.ndarray``."""
    types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
    ok = any(_is_array(value) if t is _ndarray else isinstance(value, t) for t in types)
    if not ok:
        wanted = _(" or ").join(_("NumPy array") if t is _ndarray else t.__name__ for t in types)
        got = _describe(value, name)
        code = "returned_none" if value is None else "not_an_array"
        if isinstance(value, _ndarray):
            got += _(": return a plain array (np.asarray(...))")
        elif _ndarray in types and (type(value) in _NUMPY_NUMBERS or type(value) is float):
            # One number where an array belongs: the array was reduced (np.max(z, 0) on a vector).
            maximum_hint = _(NP_MAXIMUM_HINT)
            got += f". {maximum_hint[0].upper()}{maximum_hint[1:]}"
            code = "np_max_vs_maximum"
        elif value is None and "cache" in name.lower():
            code = "missing_cache"
        raise _fail(_("{name}: expected {wanted}, got {got}.").format(name=_label(name), wanted=_a(wanted),
                                                                      got=got),
                    hint, code)


def check_shape(value: Any, expected_shape: tuple[int, ...], name: str = "result",
                hint: str | None = None) -> None:
    """Assert that ``value`` is exactly an ``np.ndarray`` of exactly ``expected_shape``."""
    check_type(value, _ndarray, name, hint)
    expected_shape = tuple(int(n) for n in expected_shape)
    if value.shape != expected_shape:
        advice, code = shape_hint(value.shape, expected_shape)
        raise _fail(_("{name}: expected shape {expected}, got shape {shape}.").format(
            name=_label(name), expected=expected_shape, shape=value.shape) + advice, hint, code)


def check_dtype(value: Any, dtype: Any = np.float64, name: str = "result",
                hint: str | None = None) -> None:
    """Assert that an array's (or a number's) dtype is exactly ``dtype`` (float64 by default).

    A Python ``float`` counts as float64, a Python ``int`` as NumPy's default integer.
    """
    if not (_is_array(value) or _is_number(value)):
        check_type(value, _ndarray, name, hint)
    wanted = _dtype(dtype)
    got = value.dtype if hasattr(value, "dtype") else _asarray(value).dtype
    if got == wanted:
        return
    advice, code = "", None
    if wanted.kind == "f" and got.kind == "f":
        advice, code = " " + _(FLOAT32_HINT).format(dtype=got.name) + ".", "float32"
    elif wanted.kind == "f" and got.kind == "b":
        advice = " " + _("Return numbers, not booleans: e.g. (z > 0).astype(np.float64).")
        code = "boolean_result"
    elif wanted.kind == "f" and got.kind in "iu":
        advice, code = " " + _("Integers where floats belong: np.zeros(shape) is float64, "
                               "np.zeros(shape, dtype=int) and np.array([0, 1]) are not."), "integer_result"
    elif wanted.kind in "iu" and got.kind != wanted.kind:
        advice, code = " " + _("Labels and counts are integers: e.g. np.argmax gives int64, or use "
                               ".astype(np.int64)."), "integer_labels"
    raise _fail(_("{name}: expected dtype {expected}, got {dtype}.").format(
        name=_label(name), expected=wanted.name, dtype=got.name) + advice, hint, code)


def check_finite(value: Any, name: str = "result", hint: str | None = None) -> None:
    """Assert that every entry is finite (no NaN, no inf); the hint depends on which."""
    if type(value) in (list, tuple):
        value = _array(value, dtype=_float64)
    if not (_is_array(value) or _is_number(value)):
        check_type(value, (_ndarray, float), name, hint)
    _numbers(value, name)
    array = _asarray(value, dtype=_float64)
    bad = ~_isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in _argwhere(bad)[0])
        advice, code = non_finite_hint(array, name)
        raise _fail(_(
            "{name}: {count} of {size} entries are not finite; the first is {first} at index {index}. "
            "{advice}").format(name=_label(name), count=int(bad.sum()), size=array.size,
                               first=array[index] if index else array.item(), index=index, advice=advice),
            hint, code)


def check_close(
    actual: Any,
    expected: Any,
    name: str = "result",
    rtol: float = RTOL,
    atol: float = ATOL,
    hint: str | None = None,
) -> None:
    """Assert type, shape, finiteness, then ``|actual - expected| <= atol + rtol*|expected|``.

    ``expected`` decides what is wanted: an ndarray wants an ndarray of the same
    shape; a Python or NumPy scalar wants a scalar (a number, or a 0-d array).
    ``hint``, when given, is appended to the message of any failure (e.g.
    ``hint=RUNNING_STATISTICS_HINT``): what only the test knows.
    """
    expected_array = _expected_array(expected, name)
    if expected_array.ndim > 0:
        check_shape(actual, expected_array.shape, name, hint)
    elif not (_is_number(actual) or _is_array(actual)):
        check_type(actual, (int, float, _ndarray), name, hint)
    elif _is_array(actual) and actual.ndim != 0:
        raise _fail(_("{name}: expected a single number, got an array of shape {shape}. "
                      "Reduce it (a mean or a sum) before returning.").format(name=_label(name),
                                                                              shape=actual.shape),
                    hint, "broadcast")
    _numbers(actual, name)
    actual_array = _asarray(actual, dtype=_float64)
    if _isfinite(expected_array).all():
        check_finite(actual_array, name, hint)
    close = _isclose(actual_array, expected_array, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    error = _abs(actual_array - expected_array)
    advice, code = value_hint(actual, actual_array, expected_array, rtol, atol)
    if actual_array.ndim == 0:
        raise _fail(_(
            "{name}: expected {expected:.10g}, got {got:.10g} "
            "(error {error:.3g}, tolerance {atol:g} + {rtol:g}*|expected|).").format(
                name=_label(name), expected=expected_array.item(), got=actual_array.item(),
                error=error.item(), atol=atol, rtol=rtol) + advice, hint, code)
    first = tuple(int(i) for i in _argwhere(~close)[0])
    worst = tuple(int(i) for i in _unravel_index(_nanargmax(error), error.shape))
    raise _fail(_(
        "{name}: {count} of {size} entries differ. First at index {first}: "
        "expected {expected:.10g}, got {got:.10g}. "
        "Largest error {error:.3g} at index {worst} "
        "(tolerance {atol:g} + {rtol:g}*|expected|).").format(
            name=_label(name), count=int((~close).sum()), size=close.size, first=first,
            expected=expected_array[first], got=actual_array[first], error=error[worst], worst=worst,
            atol=atol, rtol=rtol) + advice, hint, code)


def _plain(value: Any) -> bool:
    """Built of Python and NumPy values only, so that comparing it runs no student method."""
    if value is None or type(value) in (str, bytes, complex) or _is_number(value):
        return True
    if _is_array(value):
        return value.dtype.kind != "O"
    if type(value) in (list, tuple, set, frozenset):
        return all(_plain(item) for item in value)
    if type(value) is dict:
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def check_equal(actual: Any, expected: Any, name: str = "result", hint: str | None = None) -> None:
    """Assert exact equality (for integers, counts, labels, strings, tuples of them)."""
    if _is_array(expected):
        check_shape(actual, expected.shape, name, hint)
        if expected.dtype.kind in _NUMERIC_KINDS:
            _numbers(actual, name)
        if not _array_equal(actual, expected):
            first = tuple(int(i) for i in _argwhere(actual != expected)[0])
            raise _fail(_("{name}: first difference at index {first}: expected {expected}, "
                          "got {got}.").format(name=_label(name), first=first, expected=repr(expected[first]),
                                               got=repr(actual[first])), hint, value_hint(
                            actual, _asarray(actual, dtype=_float64), _asarray(expected, dtype=_float64),
                            0.0, 0.0)[1] if expected.dtype.kind in _NUMERIC_KINDS else None)
        return
    if _plain(expected) and not _plain(actual):
        raise _fail(_("{name}: expected {expected}, got {got}.").format(
            name=_label(name), expected=repr(expected), got=_describe(actual, name)), hint)
    if _is_array(actual) and actual.ndim == 0:
        actual = actual.item()
    if _is_array(actual) or actual != expected:
        raise _fail(_("{name}: expected {expected}, got {got}.").format(
            name=_label(name), expected=repr(expected), got=_describe(actual, name)), hint)


def check_returns(result: Any, names: Sequence[str], name: str = "result",
                  hint: str | None = None) -> tuple[Any, ...]:
    """Assert ``result`` is a tuple of ``len(names)`` items, none of them None; return it.

        out, cache = check_returns(linear_forward(x, W, b), ("out", "cache"), "linear_forward")
    """
    listed = ", ".join(names)
    wanted = _("a tuple ({names})").format(names=listed)
    if result is None:
        raise _fail(_("{name} returned None: did the function forget to `return`? "
                      "Expected {wanted}.").format(name=_label(name), wanted=wanted), hint, "returned_none")
    if type(result) is not tuple or len(result) != len(names):
        raise _fail(_("{name}: expected {wanted} of {count} items, got {got}. Return them together: "
                      "`return {names}`.").format(name=_label(name), wanted=wanted, count=len(names),
                                                  got=_describe(result, name), names=listed),
                    hint, "wrong_tuple")
    for position, (item, item_name) in enumerate(zip(result, names)):
        if item is None:
            raise _fail(_("{name}: the {item} (item {position} of the returned tuple) is "
                          "None. Build it in the function and return `{names}`.").format(
                              name=_label(name), item=item_name, position=position + 1, names=listed), hint,
                        "missing_cache" if "cache" in item_name.lower() else "returned_none")
    return result


def _call_text(label: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    def short(value: Any) -> str:
        if _is_array(value):
            text = np.array2string(value, threshold=6, separator=", ")
        elif type(value) in _PLAIN_REPR or _is_number(value) or value is None:
            text = repr(value)
        else:
            text = type(value).__name__
        return text if len(text) <= 40 else text[:37] + "..."

    parts = [short(a) for a in args] + [f"{k}={short(v)}" for k, v in kwargs.items()]
    return f"{label}({', '.join(parts)})"


def check_raises(function: Callable[..., Any], *args: Any,
                 exception: type[BaseException] | tuple[type[BaseException], ...] = ValueError,
                 match: str | None = None, name: str | None = None, **kwargs: Any) -> BaseException:
    """Assert that ``function(*args, **kwargs)`` raises ``exception``; return the exception.

    ``match``, a regular expression, must then be found in the exception's message. A stub's
    ``NotImplementedError`` passes through untouched, so ``exercise`` can name the stub.

        check_raises(one_hot, np.array([0, 9]), 9, exception=ValueError, match="label")
    """
    label = _label(name) if name else _call_text(getattr(function, "__name__", "function"), args, kwargs)
    kinds = exception if isinstance(exception, tuple) else (exception,)
    wanted = _(" or ").join(kind.__name__ for kind in kinds)
    try:
        result = function(*args, **kwargs)
    except kinds as error:
        if match is not None and not re.search(match, str(error)):
            raise CheckFailed(_("{label} raised {error_type} as it should, but its message "
                                "{message} does not say {match}.").format(
                                    label=label, error_type=type(error).__name__, message=repr(str(error)),
                                    match=repr(match)), hint="exception_message") from None
        return error
    except NotImplementedError:
        raise
    except Exception as error:
        raise CheckFailed(_("{label} should raise {wanted}, but raised {error_type}: "
                            "{error}. Raise {wanted} yourself, e.g. `raise {first}"
                            "(\"...what is wrong...\")`, before the line that failed.").format(
                                label=label, wanted=wanted, error_type=type(error).__name__, error=error,
                                first=kinds[0].__name__), hint="wrong_exception") from None
    raise CheckFailed(_("{label} should raise {wanted}, but it returned {got}. Check "
                        "the input first and `raise {first}(\"...\")` when it is invalid.").format(
                            label=label, wanted=wanted, got=_describe(result), first=kinds[0].__name__),
                      hint="no_raise")


def _snapshot(value: Any) -> Any:
    return copy.deepcopy(value)


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, _ndarray):
        return (
            isinstance(after, _ndarray)
            and before.shape == after.shape
            and _array_equal(before, after, equal_nan=before.dtype.kind in "fc")
        )
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)
    if isinstance(before, list | tuple):
        return len(before) == len(after) and all(_same(b, a) for b, a in zip(before, after))
    if isinstance(before, int | float | complex | str | bytes | bool | np.generic) or before is None:
        both_nan = isinstance(before, float | np.floating) and before != before and after != after
        return bool(before == after or both_nan)
    # Anything else (a np.random.Generator, whose state *should* advance; a model object)
    # has no meaningful value to compare: it is not checked.
    return True


def check_no_mutation(function: Callable[..., Any], *args: Any, name: str | None = None,
                      **kwargs: Any) -> Any:
    """Call ``function(*args, **kwargs)``, assert it left every argument unchanged, return its result.

    In-place updates (``x -= ...``, ``x[x < 0] = 0``, ``W += ...``) change the
    caller's arrays behind their back; this check catches them. Arrays, numbers,
    strings and lists, tuples and dicts of them are compared; other objects (such as
    an ``rng``, which is meant to advance) are not.
    """
    label = _label(name) if name else getattr(function, "__name__", "function")
    before_args = [_snapshot(a) for a in args]
    before_kwargs = {k: _snapshot(v) for k, v in kwargs.items()}
    result = function(*args, **kwargs)
    for position, (before, after) in enumerate(zip(before_args, args)):
        if not _same(before, after):
            raise CheckFailed(_(
                "{label} modified its argument number {position} in place. Work on a copy "
                "(`x = x.copy()`) or build a new array (`np.maximum(x, 0)`) instead of writing "
                "into the caller's array.").format(label=label, position=position + 1), hint="mutation")
    for key, before in before_kwargs.items():
        if not _same(before, kwargs[key]):
            raise CheckFailed(_(
                "{label} modified its argument `{key}` in place. Work on a copy instead.").format(
                    label=label, key=key), hint="mutation")
    return result


def check_own_code(function: Callable[..., Any], name: str | None = None) -> None:
    """Assert that ``function`` was written in the notebook, not imported from the course library.

    ``autograder.reference`` holds reference versions of earlier chapters' exercises for
    later chapters to build on; an exercise must be the student's own code.
    """
    label = _label(name) if name else getattr(function, "__name__", "function")
    module = getattr(function, "__module__", None) or ""
    if module != "__main__":
        raise CheckFailed(_(
            "{label} comes from the module '{module}', not from this notebook. Write the "
            "exercise yourself in its cell (the course library is for later chapters).").format(
                label=label, module=module), hint="not_own_code")
