"""Checks that test type, then shape, then values, with messages that teach.

Every check raises ``AssertionError`` when it fails (nbgrader and pytest both
read that as a failed test) and returns nothing when it passes. Each message
says what was expected, what came back, and where to look.

    >>> check_close(np.array([0.5, 0.2]), np.array([0.5, 0.2]), name="sigmoid(z)")
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .tolerances import ATOL, RTOL

__all__ = [
    "check_type",
    "check_shape",
    "check_finite",
    "check_close",
    "check_equal",
    "check_no_mutation",
    "no_numpy_warnings",
    "check_own_code",
]


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    if value is None:
        return "None (did the function forget to `return`?)"
    return f"{_a(type(value).__name__)} ({value!r})"[:200]


def check_type(value: Any, expected_type: type | tuple[type, ...], name: str = "result") -> None:
    """Assert ``isinstance(value, expected_type)``."""
    if not isinstance(value, expected_type):
        types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
        wanted = " or ".join("NumPy array" if t is np.ndarray else t.__name__ for t in types)
        raise AssertionError(f"{name}: expected {_a(wanted)}, got {_describe(value)}.")


def check_shape(value: Any, expected_shape: tuple[int, ...], name: str = "result") -> None:
    """Assert that ``value`` is an ndarray of exactly ``expected_shape``."""
    check_type(value, np.ndarray, name)
    expected_shape = tuple(expected_shape)
    if value.shape != expected_shape:
        hint = ""
        if sorted(value.shape) == sorted(expected_shape):
            hint = " The same sizes in another order: is a transpose missing or extra?"
        elif value.size == int(np.prod(expected_shape)):
            hint = " The same number of entries: check a reshape or a keepdims."
        elif value.ndim != len(expected_shape):
            hint = " A different number of axes: check a sum/mean axis or a broadcast."
        raise AssertionError(
            f"{name}: expected shape {expected_shape}, got shape {value.shape}.{hint}"
        )


def check_finite(value: Any, name: str = "result") -> None:
    """Assert that every entry is finite (no NaN, no inf)."""
    array = np.asarray(value, dtype=float)
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{name}: {int(bad.sum())} of {array.size} entries are not finite; the first is "
            f"{array[index] if index else array.item()} at index {index}. Large inputs overflow "
            "exp(); rewrite the formula so that exp() only sees non-positive numbers."
        )


def check_close(
    actual: Any,
    expected: Any,
    name: str = "result",
    rtol: float = RTOL,
    atol: float = ATOL,
) -> None:
    """Assert type, shape, finiteness, then ``|actual - expected| <= atol + rtol*|expected|``.

    ``expected`` decides what is wanted: an ndarray wants an ndarray of the same
    shape; a Python or NumPy scalar wants a scalar (a float, or a 0-d array).
    """
    expected_array = np.asarray(expected, dtype=float)
    if isinstance(expected, np.ndarray) and expected.ndim > 0:
        check_shape(actual, expected_array.shape, name)
    else:
        check_type(actual, (int, float, np.number, np.ndarray), name)
        if np.ndim(actual) != 0:
            raise AssertionError(
                f"{name}: expected a single number, got an array of shape {np.shape(actual)}. "
                "Reduce it (a mean or a sum) before returning."
            )
    actual_array = np.asarray(actual, dtype=float)
    if np.isfinite(expected_array).all():
        check_finite(actual_array, name)
    close = np.isclose(actual_array, expected_array, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    error = np.abs(actual_array - expected_array)
    if actual_array.ndim == 0:
        raise AssertionError(
            f"{name}: expected {expected_array.item():.10g}, got {actual_array.item():.10g} "
            f"(error {error.item():.3g}, tolerance {atol:g} + {rtol:g}*|expected|)."
        )
    first = tuple(int(i) for i in np.argwhere(~close)[0])
    worst = tuple(int(i) for i in np.unravel_index(np.nanargmax(error), error.shape))
    raise AssertionError(
        f"{name}: {int((~close).sum())} of {close.size} entries differ. First at index {first}: "
        f"expected {expected_array[first]:.10g}, got {actual_array[first]:.10g}. "
        f"Largest error {error[worst]:.3g} at index {worst} "
        f"(tolerance {atol:g} + {rtol:g}*|expected|)."
    )


def check_equal(actual: Any, expected: Any, name: str = "result") -> None:
    """Assert exact equality (for integers, counts, labels)."""
    if isinstance(expected, np.ndarray):
        check_shape(actual, expected.shape, name)
        if not np.array_equal(actual, expected):
            first = tuple(int(i) for i in np.argwhere(actual != expected)[0])
            raise AssertionError(
                f"{name}: first difference at index {first}: expected {expected[first]!r}, "
                f"got {actual[first]!r}."
            )
        return
    if isinstance(actual, np.ndarray) and actual.ndim == 0:
        actual = actual.item()
    if actual != expected:
        raise AssertionError(f"{name}: expected {expected!r}, got {_describe(actual)}.")


def _snapshot(value: Any) -> Any:
    return copy.deepcopy(value)


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and np.array_equal(before, after, equal_nan=True)
        )
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)
    if isinstance(before, list | tuple):
        return len(before) == len(after) and all(_same(b, a) for b, a in zip(before, after))
    if isinstance(before, int | float | complex | str | bytes | bool | np.generic) or before is None:
        return bool(before == after)
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
    label = name or getattr(function, "__name__", "function")
    before_args = [_snapshot(a) for a in args]
    before_kwargs = {k: _snapshot(v) for k, v in kwargs.items()}
    result = function(*args, **kwargs)
    for position, (before, after) in enumerate(zip(before_args, args)):
        if not _same(before, after):
            raise AssertionError(
                f"{label} modified its argument number {position + 1} in place. Work on a copy "
                "(`x = x.copy()`) or build a new array (`np.maximum(x, 0)`) instead of writing "
                "into the caller's array."
            )
    for key, before in before_kwargs.items():
        if not _same(before, kwargs[key]):
            raise AssertionError(
                f"{label} modified its argument `{key}` in place. Work on a copy instead."
            )
    return result


@contextmanager
def no_numpy_warnings(name: str = "your function") -> Iterator[None]:
    """Fail if NumPy overflows, divides by zero or makes a NaN inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        # Underflow to 0.0 is harmless (exp(-1e4) == 0); overflow and NaN are not.
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            try:
                yield
            except (FloatingPointError, RuntimeWarning) as error:
                raise AssertionError(
                    f"{name} raised a floating-point warning: {error}. Extreme inputs must not "
                    "overflow: rearrange the formula so that exp() never sees a large positive "
                    "number (for example, treat z >= 0 and z < 0 separately)."
                ) from error


def check_own_code(function: Callable[..., Any], name: str | None = None) -> None:
    """Assert that ``function`` was written in the notebook, not imported from the course library.

    ``autograder.reference`` holds reference versions of earlier chapters' exercises for
    later chapters to build on; an exercise must be the student's own code.
    """
    label = name or getattr(function, "__name__", "function")
    module = getattr(function, "__module__", None) or ""
    if module != "__main__":
        raise AssertionError(
            f"{label} comes from the module '{module}', not from this notebook. Write the "
            "exercise yourself in its cell (the course library is for later chapters)."
        )
