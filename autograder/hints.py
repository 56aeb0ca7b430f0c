"""The checks' hint codes: one stable name per recognisable mistake, in one place.

A failing check raises ``CheckFailed`` with ``.hint`` set to one of these codes (or None when
the mistake has no recognisable shape), and ``exercise(...)`` publishes it beside the message
(``CHECK_MIMETYPE``), so that the grader can count mistakes by kind without parsing English.
A code is a contract with every record already written: add codes, never rename one.
"""

from __future__ import annotations

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

WEIGHT_LAYOUT = ("a transposed weight? this course stores W as (in, out), so that X @ W reads left "
                 "to right (torch.nn.Linear.weight is (out, in)).")
