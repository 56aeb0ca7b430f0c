"""Backprop Lab's package, in three rooms; this top level is the one notebooks import.

Notebook test cells use:

    from autograder import exercise, check_close, check_shape, grad_check, ...

- ``checks``: type, shape, value and no-mutation checks with messages that teach;
- ``gradcheck``: central-difference gradient checks that assert;
- ``torch_ref``: PyTorch as the float64 reference, device and layouts in one place;
- ``progress``: which exercises pass, recorded per test cell;
- ``tolerances``: every tolerance, named;

The other two rooms:

- ``autograder.reference``: the course library, reference versions of earlier
  chapters' exercises that later chapters build on;
- ``autograder.instructor``: the instructor's tools (release, grading, sandbox,
  code policy), installed with the ``[instructor]`` extra. Nothing above it imports it.
"""

from .checks import (
    check_close,
    check_equal,
    check_finite,
    check_no_mutation,
    check_own_code,
    check_shape,
    check_type,
    no_numpy_warnings,
)
from .gradcheck import checked_indices, grad_check, numerical_gradient, relative_error
from .progress import exercise, show_progress
from .torch_ref import (
    linear_from_numpy,
    linear_to_numpy,
    reference_device,
    to_numpy,
    to_torch,
)

__all__ = [
    "check_close",
    "check_equal",
    "check_finite",
    "check_no_mutation",
    "check_own_code",
    "check_shape",
    "check_type",
    "checked_indices",
    "exercise",
    "grad_check",
    "linear_from_numpy",
    "linear_to_numpy",
    "no_numpy_warnings",
    "numerical_gradient",
    "reference_device",
    "relative_error",
    "show_progress",
    "to_numpy",
    "to_torch",
]
