"""The class report's plots: PNG data URIs, the same bytes for the same numbers
(autograder/instructor/grading/report_plots.py). Every plot of a planted class legible: test_report.py."""

from __future__ import annotations

import base64
from types import SimpleNamespace

from autograder.instructor.grading import report_plots

PNG = b"\x89PNG\r\n\x1a\n"


def _png(uri: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix), uri[:40]
    return base64.b64decode(uri[len(prefix):])


def test_each_plot_is_a_png_and_the_same_numbers_give_the_same_bytes():
    items = [SimpleNamespace(chapter="01_demo", exercise=name, pass_rate=rate)
             for name, rate in (("dense", 0.25), ("relu", 0.5))]
    uris = [report_plots.pass_rate_bars(items),
            report_plots.chapter_score_histograms([("01_demo", 0, 10, 3), ("01_demo", 90, 100, 5)]),
            report_plots.progress_heatmap(["s1", "s2"], ["01 relu"], [[1.0], [None]]),
            report_plots.status_bars([("01_demo", "graded", 7), ("01_demo", "timeout", 1)])]
    assert all(_png(uri).startswith(PNG) for uri in uris)
    assert report_plots.pass_rate_bars(items) == uris[0], "no timestamp or metadata in the PNG"


def test_an_empty_heatmap_is_still_a_picture():
    assert _png(report_plots.progress_heatmap([], [], [])).startswith(PNG)
