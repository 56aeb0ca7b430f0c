"""Open the gradebook in nbgrader's formgrader: on the Manual Grading page, offline, quietly.

    make formgrade [LAB_ARGS="--no-browser --port 8890 --ip 0.0.0.0 --IdentityProvider.token=..."]
    python -m autograder.instructor.classroom.formgrade [--out grading] [JUPYTER LAB OPTIONS...]

Every option this module does not know goes to ``jupyter lab`` as it is. It starts
JupyterLab in the grading folder (the nbgrader course root, whose ``nbgrader_config.py``
the formgrader reads) with:

- ``--LabApp.default_url=/formgrader/gradebook``: the browser opens on Manual Grading,
  not on a Launcher;
- the maths rendered offline: nbgrader 0.9.6's formgrade page calls nbconvert's
  ``mathjax()`` macro, which loads MathJax 2 from a CDN, and its ``formgrade.js`` calls
  ``MathJax.Hub`` at start-up, so offline the maths stays raw LaTeX and the page's keyboard
  shortcuts die with "MathJax is not defined". A ``base/mathjax.html.j2`` placed first on
  ``JUPYTER_PATH`` (for this server only) makes the formgrade page load the MathJax 2 that
  ``jupyter_server_mathjax`` serves from this server, and defines a stand-in ``MathJax`` when
  none loaded. Pages that are not the formgrade page (feedback for students) keep the CDN.
- an exchange: nbgrader's default exchange, ``/usr/local/share/nbgrader/exchange``, does not
  exist on a single machine; every formgrader page and every poll of the Assignments panel
  then logs a critical "Unwritable directory" and Manage Assignments warns that the exchange
  is missing. A configured ``Exchange.root`` (nbgrader_config.py in the grading folder or in
  a Jupyter config folder) is left as it is; else the class's exchange of ``make hub-*``
  (``$BACKPROP_HUB_EXCHANGE``, or ``/srv/nbgrader/exchange`` where it exists) is used; else
  ``grading/exchange``, created here.
- ``--FormgradeExtension.debug=False``: the course's nbgrader config holds preprocessor
  classes, which the Manage Assignments page cannot show as JSON ("Formgrader config is not
  serializable" on every visit).

nbgrader's server extensions are enabled for this server explicitly, whatever a learner's
``make lab`` turns off for its own launches.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from autograder.instructor.course import parse_grading_args

MANUAL_GRADING_URL = "/formgrader/gradebook"
EXCHANGE_DIR = "exchange"
# jupyter_server_mathjax serves MathJax 2.7 here; its only bundled config is this one.
LOCAL_MATHJAX = "static/jupyter_server_mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
NBGRADER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.validate_assignment",
)

# nbconvert's base/mathjax.html.j2, with the script source chosen in the page. The
# formgrade page defines `base_url` ("<server base>/formgrader") and `submission_id` before
# this macro runs; a feedback page defines neither and keeps the CDN URL it was given.
CDN_MATHJAX = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe"
MATHJAX_TEMPLATE = r"""{#- Written by autograder/instructor/classroom/formgrade.py: see its docstring. -#}
{%- macro mathjax(url="CDN_MATHJAX") -%}
    <!-- Load mathjax: from this Jupyter server on the formgrade page, else from the URL given -->
    <script type="text/javascript">
    (function () {
        var formgrade = typeof base_url === "string" && typeof submission_id === "string"
            && /\/formgrader$/.test(base_url);
        var src = formgrade ? base_url.replace(/formgrader$/, "") + "LOCAL_MATHJAX" : "{{ url }}";
        if (formgrade) {
            // A MathJax object set before MathJax.js loads is its configuration: the local
            // copy has the STIX-Web fonts only (no TeX fonts, no image fonts).
            window.MathJax = {"HTML-CSS": {availableFonts: [], preferredFont: null,
                                           webFont: "STIX-Web", imageFont: null}};
        }
        document.write('<script type="text/javascript" src="' + src + '"><\/script>');
    })();
    </script>
    <script type="text/javascript">
    if (!window.MathJax || !window.MathJax.Hub) {
        // No MathJax could be loaded: the maths stays as LaTeX, and the formgrader's own
        // script (which waits for MathJax's "End" signal to focus the first score box) works.
        window.MathJax = {stub: true, Hub: {
            Config: function () {}, Queue: function () {}, Typeset: function () {},
            Startup: {signal: {Interest: function (callback) {
                setTimeout(function () { callback("End"); }, 0);
            }}}}};
    }
    </script>
    <!-- MathJax configuration -->
    <script type="text/x-mathjax-config">
    init_mathjax = function() {
        if (window.MathJax && !window.MathJax.stub) {
            MathJax.Hub.Config({
                TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
                tex2jax: {
                    inlineMath: [ ['$','$'], ["\\(","\\)"] ],
                    displayMath: [ ['$$','$$'], ["\\[","\\]"] ],
                    processEscapes: true,
                    processEnvironments: true
                },
                displayAlign: 'center',
                messageStyle: 'none',
                CommonHTML: {linebreaks: {automatic: true}}
            });
            MathJax.Hub.Queue(["Typeset", MathJax.Hub]);
        }
    }
    init_mathjax();
    </script>
    <!-- End of mathjax configuration -->
{%- endmacro %}
""".replace("LOCAL_MATHJAX", LOCAL_MATHJAX).replace("CDN_MATHJAX", CDN_MATHJAX)


def write_templates(folder: Path) -> Path:
    """Write the MathJax macro override under ``folder``; returns the folder for JUPYTER_PATH."""
    target = folder / "nbconvert" / "templates" / "base" / "mathjax.html.j2"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(MATHJAX_TEMPLATE)
    return folder


def _given(args: Sequence[str], option: str) -> bool:
    """Whether ``--option`` or ``--option=value`` is among ``args``."""
    return any(arg == f"--{option}" or arg.startswith(f"--{option}=") for arg in args)


def configured_exchange(course_root: Path) -> str | None:
    """``Exchange.root`` as nbgrader would read it for ``course_root``, or None when unset
    (nbgrader's default then points at a folder that does not exist on a single machine)."""
    from nbgrader.apps.baseapp import NbGrader

    previous = Path.cwd()
    os.chdir(course_root)  # nbgrader reads nbgrader_config.py from the working directory
    try:
        app = NbGrader()
        app.load_config_file()
        config = app.config
    finally:
        os.chdir(previous)
    for section in ("Exchange", "ExchangeFactory"):
        if section in config and config[section]:
            value = config[section].get("root") if section == "Exchange" else "custom"
            if value:
                return str(value)
    return None


def choose_exchange(course_root: Path) -> Path | None:
    """The ``Exchange.root`` to give the server, or None to leave nbgrader's configuration alone.

    A root configured for nbgrader wins; then the class's exchange of ``make hub-*``
    (``$BACKPROP_HUB_EXCHANGE``, or ``/srv/nbgrader/exchange`` where it exists); else a
    folder in the grading folder, so that a single machine has one.
    """
    from autograder.instructor.classroom.hub import DEFAULT_EXCHANGE, EXCHANGE_ENV

    if configured_exchange(course_root) is not None:
        return None
    if os.environ.get(EXCHANGE_ENV):
        return Path(os.environ[EXCHANGE_ENV])
    if Path(DEFAULT_EXCHANGE).is_dir():
        return Path(DEFAULT_EXCHANGE)
    return course_root / EXCHANGE_DIR


def lab_command(course_root: Path, lab_args: Sequence[str], exchange_root: Path | None) -> list[str]:
    """The ``jupyter lab`` command line: ours first, the caller's ``lab_args`` last (they win)."""
    command = [str(Path(sys.executable).parent / "jupyter"), "lab",
               f"--ServerApp.root_dir={course_root}"]
    if not _given(lab_args, "LabApp.default_url"):
        command.append(f"--LabApp.default_url={MANUAL_GRADING_URL}")
    if exchange_root is not None and not _given(lab_args, "Exchange.root"):
        command.append(f"--Exchange.root={exchange_root}")
    command.append("--FormgradeExtension.debug=False")
    for extension in NBGRADER_EXTENSIONS:
        command.append(f"--ServerApp.jpserver_extensions={extension}=True")
    return command + list(lab_args)


def server_env(template_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(template_dir), env.get("JUPYTER_PATH")) if p)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Open nbgrader's formgrader on the grading folder; other options go to jupyter lab.")
    args, lab_args = parse_grading_args(parser, argv, known=True)
    if args is None:
        return 2
    course_root = args.out.resolve()
    if not (course_root / "gradebook.db").is_file():
        print("Nothing graded yet: run make grade SUBMISSIONS=... first.")
        return 2
    exchange_root = choose_exchange(course_root)
    if exchange_root == course_root / EXCHANGE_DIR:
        exchange_root.mkdir(exist_ok=True)  # a class's exchange is set up by its admin, not here
    with tempfile.TemporaryDirectory(prefix="backprop-formgrade-") as scratch:
        command = lab_command(course_root, lab_args, exchange_root)
        print(f"formgrader: {MANUAL_GRADING_URL} on the server below (Manual Grading)", flush=True)
        process = subprocess.Popen(command, cwd=course_root, env=server_env(write_templates(Path(scratch))))
        # Ctrl-C reaches jupyter too (same terminal); it asks, and stops; we wait for it.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: process.terminate())
        try:
            return process.wait()
        finally:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
