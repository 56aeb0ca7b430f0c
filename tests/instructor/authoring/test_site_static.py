"""An executed chapter as the static site shows it: streams as a terminal shows them, every figure with
alt text, prelude cells gone (autograder/instructor/authoring/site_static.py). The built site: test_site.py
and tests/browser/test_site.py."""

from __future__ import annotations

import base64
import hashlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.instructor.authoring.site_static import PRELUDE_TAG, alt_texts, make_static, static_outputs

PNG = base64.b64encode(b"\x89PNG one").decode()
OTHER_PNG = base64.b64encode(b"\x89PNG another").decode()


def test_streams_are_merged_and_a_progress_bar_keeps_its_last_state():
    outputs = [new_output("stream", name="stdout", text="10%\r50%"), new_output("stream", name="stdout",
                                                                                 text="\r100%\ndone\n"),
               new_output("stream", name="stderr", text="\r\n")]
    (shown,) = static_outputs(outputs, {})
    assert (shown.name, shown.text) == ("stdout", "100%\ndone\n")


def test_the_page_drops_prelude_cells_and_gives_each_figure_alt_text_from_its_section():
    figure = new_code_cell("# the loss falls\nplt.plot(losses)")
    figure.outputs = [new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]
    described = new_code_cell("show()")
    described.outputs = [new_output("display_data", data={"image/png": OTHER_PNG,
                                                          "text/plain": "Figure: a described plot"})]
    prelude = new_code_cell("%matplotlib inline", metadata={"tags": [PRELUDE_TAG]})
    nb = make_static(new_notebook(cells=[prelude, new_markdown_cell("## Training"), figure, described]))
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert nb.cells[1].outputs[0].metadata["image/png"]["alt"] == "Figure in section Training: the loss falls"
    assert nb.cells[2].outputs[0].metadata["image/png"]["alt"] == "Figure: a described plot"
    names = [hashlib.sha256(base64.b64decode(png)).hexdigest() + ".png" for png in (PNG, OTHER_PNG)]
    assert alt_texts([nbformat.from_dict(nb)]) == {names[0]: "Figure in section Training: the loss falls",
                                                   names[1]: "Figure: a described plot"}
