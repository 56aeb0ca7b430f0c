"""The hint codes' contract with the grader: what ``exercise`` publishes in a real kernel, and how
the grader reads it back (``read_check_outputs``)."""

from __future__ import annotations

import nbformat
import pytest

from autograder.hints import CHECK_MIMETYPE, HINT_CODES, read_check_outputs


def verdict(hint, exercise="relu"):
    return nbformat.v4.new_output("display_data", data={
        CHECK_MIMETYPE: {"exercise": exercise, "hint": hint, "message": "m"}, "text/plain": ""})


def test_the_grader_reads_the_last_known_code_and_drops_every_verdict():
    printed = nbformat.v4.new_output("stream", name="stdout", text="hello\n")
    error = nbformat.v4.new_output("error", ename="CheckFailed", evalue="relu: ...", traceback=[])
    code, kept = read_check_outputs([printed, verdict("float32"), verdict("transposed_weight"), error])
    assert code == "transposed_weight" and kept == [printed, error]
    assert read_check_outputs([verdict("<script>")])[0] is None, "an unknown code is not kept"
    assert read_check_outputs([verdict(None)]) == (None, [])
    forged = nbformat.v4.new_output("display_data", data={CHECK_MIMETYPE: "x"})
    assert read_check_outputs([forged]) == (None, [])
    assert read_check_outputs([printed]) == (None, [printed])


def test_codes_are_plain_names():
    assert all(code.isidentifier() and code.islower() for code in HINT_CODES)


@pytest.mark.slow
def test_a_failing_check_in_a_real_kernel_leaves_its_code_in_the_cell_outputs():
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom autograder import check_close, exercise"),
        nbformat.v4.new_code_cell("def dense(X, W, b):\n    return X @ W.T + b"),
        nbformat.v4.new_code_cell("with exercise('dense'):\n"
                                  "    dense(np.ones((4, 2)), np.ones((2, 3)), np.zeros(3))"),
        nbformat.v4.new_code_cell("with exercise('relu'):\n"
                                  "    check_close(np.zeros(3), np.arange(1.0, 4.0), name='relu')"),
        nbformat.v4.new_code_cell("with exercise('fine'):\n    check_close(1.0, 1.0)"),
    ])
    NotebookClient(nb, timeout=60, allow_errors=True).execute()
    codes = [read_check_outputs(cell.outputs)[0] for cell in nb.cells[2:]]
    assert codes == ["transposed_weight", "all_zero", None]
    assert [o.output_type for o in read_check_outputs(nb.cells[3].outputs)[1]] == ["error"]
    assert not any(CHECK_MIMETYPE in o.get("data", {}) for o in nb.cells[4].outputs), \
        "a pass publishes nothing"
