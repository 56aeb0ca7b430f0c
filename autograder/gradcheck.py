"""Numerical gradient checks: central differences in float64, asserted, not printed.

The analytic gradient your backward pass returns is compared with

    df/dx[i] ~= (f(x + h e_i) - f(x - h e_i)) / (2 h)

entry by entry, using the relative error

    max_i |a_i - n_i| / max(1e-8, |a_i| + |n_i|)

(CS231n's ``rel_error``), which is about 1e-10 for a right gradient and of
order 1 for a wrong one. An entry fails when that relative error is above
``GRAD_CHECK_THRESHOLD`` and its absolute error above ``GRAD_CHECK_ATOL``: a
gradient of 1e-6 is only known to about 1e-11 by central differences, which is a
relative error of 1e-5 for a right answer. Small arrays are checked at every entry; large ones at
a fixed, seeded sample of ``GRAD_CHECK_MAX_ENTRIES`` entries.

    >>> W = rng.normal(size=(3, 2))
    >>> loss, grad_W = my_loss_and_grad(W)
    >>> grad_check(lambda: my_loss_and_grad(W)[0], {"W": W}, {"W": grad_W})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

# Bound at import, as in checks.py: rebinding these in a notebook later changes no verdict.
from numpy import abs as _abs
from numpy import arange as _arange
from numpy import array as _array
from numpy import asarray as _asarray
from numpy import float64 as _float64
from numpy import full as _full
from numpy import generic as _generic
from numpy import maximum as _maximum
from numpy import nan_to_num as _nan_to_num
from numpy import ndarray as _ndarray
from numpy import prod as _prod
from numpy import sort as _sort
from numpy import unravel_index as _unravel_index
from numpy import where as _where
from numpy.random import default_rng as _default_rng

from .checks import check_shape
from .i18n import _
from .progress import CheckFailed
from .tolerances import (
    GRAD_CHECK_ATOL,
    GRAD_CHECK_H,
    GRAD_CHECK_MAX_ENTRIES,
    GRAD_CHECK_THRESHOLD,
)

__all__ = ["relative_error", "central_differences", "grad_check", "checked_indices"]


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max(1e-8, |a| + |b|)``, element-wise, then the maximum."""
    a = _asarray(a, dtype=_float64)
    b = _asarray(b, dtype=_float64)
    return float((_abs(a - b) / _maximum(1e-8, _abs(a) + _abs(b))).max(initial=0.0))


def checked_indices(shape: tuple[int, ...], max_entries: int = GRAD_CHECK_MAX_ENTRIES,
                    seed: int = 0) -> list[tuple[int, ...]]:
    """Every index of a small array, or a fixed seeded sample of a large one."""
    size = int(_prod(shape))
    if size <= max_entries:
        flat = _arange(size)
    else:
        flat = _sort(_default_rng(seed).choice(size, size=max_entries, replace=False))
    return [tuple(int(i) for i in _unravel_index(k, shape)) for k in flat]


def central_differences(f: Callable[[], float], x: np.ndarray, h: float = GRAD_CHECK_H,
                        indices: list[tuple[int, ...]] | None = None) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to ``x``.

    (Named for its method, not ``numerical_gradient``: that is chapter 3's exercise,
    ``numerical_gradient(f, x, h)``, whose ``f`` takes the array.)

    ``f`` takes no argument: it reads ``x``, which is nudged in place one entry at a
    time and always restored (even if ``f`` raises). Entries not in ``indices``
    are left at NaN.

    x: any shape, float64.  Returns an array of ``x``'s shape.
    """
    if not (type(x) is _ndarray and x.dtype == _float64):
        raise TypeError(
            (_("central_differences needs a float64 NumPy array, got {type} of dtype {dtype}: float32 "
               "differences are too coarse for h = 1e-5.") if isinstance(x, _ndarray) else
             _("central_differences needs a float64 NumPy array, got {type}: float32 differences are too "
               "coarse for h = 1e-5.")).format(type=type(x).__name__, dtype=getattr(x, "dtype", ""))
        )
    grad = _full(x.shape, float("nan"))
    for index in indices if indices is not None else checked_indices(x.shape, x.size):
        original = x[index]
        try:
            x[index] = original + h
            f_plus = float(f())
            x[index] = original - h
            f_minus = float(f())
        finally:
            x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def grad_check(
    f: Callable[[], float],
    inputs: Mapping[str, np.ndarray],
    analytic: Mapping[str, np.ndarray],
    threshold: float = GRAD_CHECK_THRESHOLD,
    h: float = GRAD_CHECK_H,
    max_entries: int = GRAD_CHECK_MAX_ENTRIES,
    atol: float = GRAD_CHECK_ATOL,
) -> None:
    """Assert that each ``analytic[name]`` is the gradient of ``f()`` with respect to ``inputs[name]``.

    f: a zero-argument function returning a scalar, computed from the arrays in
       ``inputs`` (they are nudged in place and restored).
    inputs: name -> float64 array.  analytic: name -> array of the same shape.
    Returns None, so that it can end a notebook test cell.
    """
    for name, x in inputs.items():
        if name not in analytic or analytic[name] is None:
            raise CheckFailed(_(
                "Gradient check: no analytic gradient for '{name}'. Return a gradient for "
                "every input and parameter, keyed by the same name.").format(name=name),
                hint="missing_gradient")
        grad = analytic[name]
        if type(grad) in (int, float) or isinstance(grad, _generic):
            grad = _asarray(grad)
        check_shape(grad, x.shape, _("gradient of '{name}'").format(name=name))
        indices = checked_indices(x.shape, max_entries)
        numeric = central_differences(f, x, h=h, indices=indices)
        rows = _array(indices).T if x.ndim else ()
        a = _asarray(grad, dtype=_float64)[tuple(rows)] if x.ndim else _asarray(grad, dtype=_float64)
        n = numeric[tuple(rows)] if x.ndim else numeric
        absolute = _abs(a - n)
        per_entry = absolute / _maximum(1e-8, _abs(a) + _abs(n))
        # NaN compares False, so a NaN gradient counts as failing.
        failing = ~((per_entry <= threshold) | (absolute <= atol))
        if failing.any():
            ranked = _where(failing, _nan_to_num(per_entry, nan=float("inf")), -1.0)
            error = float(ranked.max())
            worst = indices[int(ranked.argmax())] if x.ndim else ()
            raise CheckFailed(_(
                "Gradient check failed for '{name}': at index {worst} the analytic gradient is "
                "{analytic:.8g} but the numerical one (central "
                "differences, h={h:g}) is {numeric:.8g}; relative error "
                "{error:.3g} > threshold {threshold:g} ({checked} of {size} entries "
                "checked; entries within {atol:g} absolute also pass). Look at the backward "
                "formula for '{name}': a missing transpose, a sum over the wrong axis or a "
                "forgotten 1/N are the usual causes.").format(
                    name=name, worst=worst, analytic=float(_asarray(grad)[worst]), h=h,
                    numeric=float(numeric[worst]), error=error, threshold=threshold, checked=len(indices),
                    size=x.size, atol=atol), hint="gradient")
