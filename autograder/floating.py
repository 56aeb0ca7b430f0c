"""Floating-point trouble as a failed check: ``with no_numpy_warnings("sigmoid"): ...``.

Kept apart from ``checks.py`` (which re-exports it): it owns NumPy's error state and the warnings
filter for the length of a block, where the checks only compare values.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any
from warnings import catch_warnings as _catch_warnings
from warnings import simplefilter as _simplefilter

# Bound once, as in checks.py: a notebook that rebinds np.errstate changes no verdict.
from numpy import errstate as _errstate

from .hints import float_error_hint
from .i18n import _
from .progress import CheckFailed

__all__ = ["no_numpy_warnings"]


class no_numpy_warnings:  # noqa: N801 (a ``with`` statement, like a function)
    """Fail if NumPy overflows, divides by zero or makes a NaN inside the block.

        with no_numpy_warnings("sigmoid"):
            check_close(sigmoid(np.array([-1e4, 1e4])), np.array([0.0, 1.0]), name="sigmoid(±1e4)")

    It sets its own error state (``np.errstate(all="raise", under="ignore")``) and makes
    every ``RuntimeWarning`` an error, so an earlier ``np.seterr(all="ignore")`` or warnings
    filter cannot silence it. Underflow to 0.0 is harmless (``exp(-1e4) == 0``) and allowed.
    The message's advice follows NumPy's words: "divide by zero encountered in log" gets
    log-softmax advice, "overflow encountered in exp" gets the exp advice.
    """

    def __init__(self, name: str = "your function") -> None:
        self.name = name
        self._contexts: list[Any] = []

    def __enter__(self) -> no_numpy_warnings:
        warnings_context = _catch_warnings()
        warnings_context.__enter__()
        _simplefilter("error", RuntimeWarning)
        error_state = _errstate(all="raise", under="ignore")
        error_state.__enter__()
        self._contexts.append((warnings_context, error_state))
        return self

    def __exit__(self, error_type: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> bool:
        warnings_context, error_state = self._contexts.pop()
        error_state.__exit__(None, None, None)
        warnings_context.__exit__(None, None, None)
        if isinstance(error, FloatingPointError | RuntimeWarning):
            text = str(error)
            code, advice = float_error_hint(text, self.name)
            raise CheckFailed(_(
                "{name} raised a floating-point warning: {warning}. Extreme inputs must not "
                "give inf or NaN: {advice}").format(name=self.name, warning=text, advice=advice),
                hint=code) from error
        return False
