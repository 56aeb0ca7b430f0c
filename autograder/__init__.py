"""Backprop Lab's package, in three rooms; this top level is the one notebooks import.

Notebook test cells use:

    from autograder import exercise, check_close, check_shape, grad_check, ...

- ``checks``: type, shape, dtype, value, raising and no-mutation checks with messages
  that teach (``hint=`` appends what only the test knows);
- ``gradcheck``: central-difference gradient checks that assert (``central_differences``,
  not ``numerical_gradient``: that name is chapter 3's exercise);
- ``torch_ref``: PyTorch as the float64 reference, device and layouts in one place, and
  ``value_and_grad``, ``labels``, ``count_flops`` for comparisons;
- ``progress``: which exercises pass, recorded per test cell, and what a learner sees of
  a failure (``CheckFailed``: the message and the test cell's line, no package frames);
- ``tolerances``: every tolerance, named;

The other two rooms:

- ``autograder.reference``: the course library, reference versions of earlier
  chapters' exercises that later chapters build on;
- ``autograder.instructor``: the instructor's tools (release, grading, sandbox,
  code policy), installed with the ``[instructor]`` extra. Nothing above it imports it.
"""

from . import i18n
from .checks import (
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
    no_numpy_warnings,
)
from .gradcheck import central_differences, checked_indices, grad_check, relative_error
from .progress import exercise, show_progress
from .selfcheck import check_my_work
from .torch_ref import (
    count_flops,
    labels,
    linear_from_numpy,
    linear_to_numpy,
    reference_device,
    to_numpy,
    to_torch,
    value_and_grad,
)

__all__ = [
    "CheckFailed",
    "RUNNING_STATISTICS_HINT",
    "central_differences",
    "check_close",
    "check_my_work",
    "check_dtype",
    "check_equal",
    "check_finite",
    "check_no_mutation",
    "check_own_code",
    "check_raises",
    "check_returns",
    "check_shape",
    "check_type",
    "checked_indices",
    "count_flops",
    "exercise",
    "grad_check",
    "labels",
    "linear_from_numpy",
    "linear_to_numpy",
    "no_numpy_warnings",
    "reference_device",
    "relative_error",
    "show_progress",
    "to_numpy",
    "to_torch",
    "value_and_grad",
]

# A Chinese (or other CJK) notebook draws its figures with a CJK fallback font, never boxes: set here,
# which every setup cell imports, so that no locked cell changes. An English notebook never reaches
# fonts.py (matplotlib's settings stay exactly as they were, and so do its stored figures).
if i18n.current_language().split("_")[0].lower() in ("zh", "ja", "ko"):
    from .fonts import use_cjk_fallback

    use_cjk_fallback()
