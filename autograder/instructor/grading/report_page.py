"""The class report's page: one self-contained HTML file (inline CSS, PNG data URIs, no script).

Everything that came from a record (ids, messages, rule names) is escaped: student code wrote
some of it.
"""

from __future__ import annotations

import html
from typing import Any

CSS = """
body { font-family: system-ui, sans-serif; font-size: 16px; line-height: 1.45; margin: 2em auto;
       max-width: 70em; padding: 0 1em; color: #1b1b1b; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 14px; }
th, td { border: 1px solid #c8c8c8; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { background: #fff6d6; border-left: 4px solid #b58900; padding: 0.5em 1em; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0 1.5em; }
"""

# (csv name, section title, what it is for)
SECTIONS = [
    ("exercises", "Per exercise: hardest and least discriminating first",
     "Pass rate: the share of graded notebooks that passed every test of the exercise. Mean score: the "
     "mean fraction of its points. Discrimination: the point-biserial correlation between passing it "
     "and the rest of the chapter's score (near 0 or negative: it does not tell strong from weak "
     "work; look at the exercise, not only at the class). Blank: everyone passed, or everyone failed."),
    ("mistakes", "The class's mistakes: what to re-teach",
     "Failing tests grouped by the kind of mistake the checks recognised (a hint code), with the "
     "number of students and one example message (the check's words, never test code)."),
    ("chapter_scores", "Chapter scores", "Every notebook, whatever its status (not graded counts as 0)."),
    ("statuses", "Statuses", "graded: it ran; invalid, timeout, error, missing, crashed: it scored 0 "
     "(the feedback page says why)."),
    ("policy", "Code-policy refusals by rule", "Answers the code policy did not run, by construct."),
    ("answers", "Written answers still to grade", ""),
    ("timing", "Grader time per notebook (seconds)", ""),
    ("progress", "Each student's score on each exercise", "Fraction of each exercise's points; blank "
     "where nothing was handed in."),
]
PLOT_BEFORE = {"exercises": "pass_rates", "chapter_scores": "scores", "statuses": "statuses",
               "progress": "progress"}
PLOT_ALT = {"pass_rates": "Bar chart: pass rate per exercise", "scores": "Histogram of chapter scores",
            "statuses": "Bar chart: notebooks per grading status",
            "progress": "Heatmap: each student's fraction of points on each exercise"}
NUMERIC = {"points", "students", "passed", "pass_rate", "mean_score", "discrimination", "grader_seconds",
           "failing_tests", "notebooks", "refusals", "to_grade", "score_from_percent", "score_to_percent",
           "mean_seconds", "median_seconds", "max_seconds"}


def _table(name: str, header: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return f"<p id='{name}-empty'>Nothing to show.</p>"
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td class='n'>{html.escape(str(v))}</td>" if h in NUMERIC or name == "progress"
                         and h != "student" else f"<td>{html.escape(str(v))}</td>"
                         for h, v in zip(header, row)) + "</tr>"
        for row in rows)
    return f"<table id='{name}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _first_look(tables: dict[str, tuple[list[str], list]]) -> str:
    """Three lines for a busy Monday: the hardest exercises and the commonest coded mistakes."""
    _, exercises = tables["exercises"]
    _, mistakes = tables["mistakes"]
    hardest = [f"{r[0][:2]} {r[1]} ({float(r[5]) * 100:.0f} % pass)" for r in exercises[:3] if r[5]]
    common = [f"{r[0][:2]} {r[1]}: {r[3] or r[2]} ({r[4]} students)" for r in mistakes
              if r[2] != "(no code)"][:3]
    lines = []
    if hardest:
        lines.append("<li>Hardest: " + html.escape("; ".join(hardest)) + "</li>")
    if common:
        lines.append("<li>Commonest recognised mistakes: " + html.escape("; ".join(common)) + "</li>")
    return f"<ul id='first-look'>{''.join(lines)}</ul>" if lines else ""


def page(tables: dict[str, tuple[list[str], list]], plots: dict[str, str], notebooks_count: int,
         students: int, small: bool, answers_source: str, has_test_seconds: bool) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Class report</title><style>{CSS}</style></head><body>",
        "<h1>What the class got wrong: class report</h1>",
        "<p class='note' id='instructors-only'>This report is the instructor's: it is built from every "
        "student's grading records. Do not share it with students"
        + (", and mind that in a small class a count can point at one person." if not small else ".")
        + "</p>",
        f"<p>Built from {notebooks_count} notebook records of {students} students "
        "(<code>grading/records/</code>); the same tables are in the CSV files beside this page.</p>",
    ]
    if small:
        parts.append("<p class='note' id='small-class'>Small-class mode: no student is named, no mistake "
                     "seen in one student only is listed, and no example message is shown, so that "
                     "nothing here identifies one student's mistakes.</p>")
    if notebooks_count == 0:
        parts.append("<p>No records yet: run <code>make grade SUBMISSIONS=...</code> first.</p>")
    parts.append(_first_look(tables))
    for name, title, about in SECTIONS:
        header, rows = tables[name]
        parts.append(f"<h2 id='section-{name}'>{html.escape(title)}</h2>")
        if about:
            parts.append(f"<p>{html.escape(about)}</p>")
        if name == "answers":
            parts.append(f"<p>Counted from {html.escape(answers_source)}.</p>")
        if name == "exercises" and not has_test_seconds:
            parts.append("<p id='no-test-seconds'>The records hold only each whole notebook's grading "
                         "time, not each exercise's: see the grader time per notebook below.</p>")
        plot = PLOT_BEFORE.get(name)
        if plot in plots:
            parts.append(f"<img src='{plots[plot]}' alt='{PLOT_ALT[plot]}'>")
        parts.append(_table(name, header, rows))
    parts.append("</body></html>\n")
    return "\n".join(parts)
