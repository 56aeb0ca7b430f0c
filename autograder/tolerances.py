"""Named tolerances, in one place, so that no test picks a number of its own.

Everything in this course is compared in float64. A float64 result computed two
ways (your NumPy code and PyTorch's kernels) agrees to about 1e-15 relative;
the tolerances below leave room for summation order and a few thousand
operations, and no more: a wrong formula misses them by many orders.
"""

# check_close: |actual - expected| <= ATOL + RTOL * |expected|, element-wise.
RTOL = 1e-7
ATOL = 1e-10

# Against a PyTorch float64 reference (same maths, different kernels).
TORCH_RTOL = 1e-7
TORCH_ATOL = 1e-10

# Numerical gradient checks: central differences with step H have an error of
# order H**2 (~1e-10) relative to the gradient; a wrong gradient is off by O(1).
GRAD_CHECK_H = 1e-5
GRAD_CHECK_THRESHOLD = 1e-6
# ...but an entry whose gradient is itself tiny (1e-6) has a relative error of ~1e-5
# from rounding alone (eps*|f|/h ~ 1e-11 absolute). An entry fails only if its
# absolute error is also above this; a wrong gradient misses both by far.
GRAD_CHECK_ATOL = 1e-8

# A gradient check looks at every entry of an array this small, and at this many
# sampled entries (fixed seed) of a larger one.
GRAD_CHECK_MAX_ENTRIES = 40
