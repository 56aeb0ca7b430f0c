"""The class report's plots: matplotlib figures as PNG data URIs, legible and colour-blind safe.

Every figure uses the 'tableau-colorblind10' colours (viridis for the heatmap), fonts of at
least 10 points and labelled axes, and is rendered by Agg without metadata, so that the same
records give the same bytes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display here, and the same pixels everywhere

import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)
import numpy as np  # noqa: E402

STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
         "ytick.labelsize": 10, "legend.fontsize": 10, "font.family": "DejaVu Sans",
         "figure.dpi": 100}


@contextmanager
def _figure(width: float, height: float) -> Iterator[tuple[Any, Any]]:
    with plt.style.context("tableau-colorblind10"), matplotlib.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(width, height), layout="constrained")
        try:
            yield figure, axes
        finally:
            plt.close(figure)


def _data_uri(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def pass_rate_bars(items: list[Any]) -> str:
    """One horizontal bar per exercise, hardest at the top."""
    shown = items[:40]
    with _figure(8, max(2.5, 0.3 * len(shown) + 1.2)) as (figure, axes):
        labels = [f"{i.chapter[:2]} {i.exercise}" for i in shown][::-1]
        rates = [100 * i.pass_rate for i in shown][::-1]
        axes.barh(labels, rates, color="C0")
        axes.axvline(50, color="C1", linestyle="--", linewidth=1, label="50 %")
        axes.set_xlim(0, 100)
        axes.set_xlabel("students who passed every test of the exercise (%)")
        axes.set_ylabel("exercise (chapter, name)")
        axes.set_title("Pass rate per exercise, hardest at the top"
                       + (f" (the {len(shown)} hardest)" if len(items) > len(shown) else ""))
        axes.legend(loc="lower right")
        return _data_uri(figure)


def chapter_score_histograms(bins: list[tuple[str, int, int, int]]) -> str:
    """Notebooks per score band, one group of bars per chapter."""
    chapters = sorted({b[0] for b in bins})
    with _figure(8, 3.5) as (figure, axes):
        width = 8.0 / max(1, len(chapters))
        for k, chapter in enumerate(chapters):
            rows = [b for b in bins if b[0] == chapter]
            lefts = np.array([low for _, low, _, _ in rows], dtype=float)
            axes.bar(lefts + 1 + k * width, [n for *_, n in rows], width=width, align="edge",
                     color=f"C{k % 10}", label=chapter)
        axes.set_xlim(0, 100)
        axes.set_xticks(range(0, 101, 10))
        axes.set_xlabel("chapter score (% of the test points)")
        axes.set_ylabel("notebooks")
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_title("Chapter scores")
        axes.legend(title="chapter", loc="upper left")
        return _data_uri(figure)


def progress_heatmap(students: list[str], exercises: list[str], rows: list[list[float | None]]) -> str:
    """Students x exercises, the fraction of points each scored; grey where nothing was handed in."""
    values = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    if values.size == 0:
        values = np.full((1, 1), np.nan)
    height = min(30.0, max(3.0, 0.25 * len(students) + 2.0))
    with _figure(min(30.0, max(6.0, 0.3 * len(exercises) + 3.0)), height) as (figure, axes):
        colours = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
        image = axes.imshow(np.ma.masked_invalid(values), cmap=colours, vmin=0, vmax=1, aspect="auto",
                            interpolation="nearest")
        axes.set_xticks(range(len(exercises)), exercises, rotation=90)
        if len(students) <= 60:
            axes.set_yticks(range(len(students)), students)
        axes.set_xlabel("exercise (chapter, name)")
        axes.set_ylabel("student")
        axes.set_title("Each student's score on each exercise (grey: not handed in)")
        bar = figure.colorbar(image, ax=axes)
        bar.set_label("fraction of the exercise's points")
        return _data_uri(figure)


def status_bars(rows: list[tuple[str, str, int]]) -> str:
    """Notebooks per grading status, one group per chapter."""
    chapters = sorted({c for c, _, _ in rows})
    names = list(dict.fromkeys(s for _, s, _ in rows))
    counts = {(c, s): n for c, s, n in rows}
    with _figure(8, 3.2) as (figure, axes):
        width = 0.8 / max(1, len(names))
        for k, status in enumerate(names):
            axes.bar(np.arange(len(chapters)) + k * width, [counts.get((c, status), 0) for c in chapters],
                     width=width, color=f"C{k % 10}", label=status)
        axes.set_xticks(np.arange(len(chapters)) + 0.4 - width / 2, chapters)
        axes.set_xlabel("chapter")
        axes.set_ylabel("notebooks")
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_title("Grading status of each notebook")
        axes.legend(loc="upper right", ncols=3)
        return _data_uri(figure)
