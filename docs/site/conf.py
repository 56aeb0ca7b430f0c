"""Sphinx configuration of the course site (``make site``; see docs/SITE.md).

The pages are written by ``autograder.instructor.authoring.site`` into ``build/site-src/pages``
(executed chapters and the landing page); this file only says how to render them.
Everything the pages load is in the build: no CDN at build or view time.
"""

project = "Backprop Lab"
author = "Backprop Lab contributors"
html_title = "Backprop Lab"

extensions = [
    "myst_nb",
    # MathJax 3 from a pip package, copied into _static/mathjax (sets mathjax_path).
    "sphinx-mathjax-offline",
]

myst_enable_extensions = ["dollarmath", "amsmath"]
# Notebooks are executed before Sphinx sees them (solutions injected, then removed).
nb_execution_mode = "off"
nb_merge_streams = True
# Widget views are replaced by static outputs before Sphinx sees them, so myst-nb never
# needs the widget manager (which it would load from a CDN).
nb_ipywidgets_js = {}

exclude_patterns = ["**.ipynb_checkpoints", "site.json"]
html_theme = "sphinx_book_theme"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
}
html_static_path = ["static"]
# Without an icon, browsers ask for /favicon.ico, which the site does not have.
html_favicon = "static/favicon.svg"
html_css_files = ["site.css"]
html_show_sourcelink = False
html_copy_source = False
# Notebook Markdown starts at a chapter title (#) and may skip to ### for an exercise.
suppress_warnings = ["myst.header"]
# pydata-sphinx-theme logs a console error when no mode was ever chosen.
html_context = {"default_mode": "light"}

exclude_patterns += ["_alt_text.json"]


def _set_alt_text(app, doctree, docname):
    """Alt text for output figures: myst-nb takes it only per cell, the site builder
    describes each figure (``autograder.instructor.authoring.site.alt_texts``)."""
    import json
    from pathlib import Path

    from docutils import nodes

    path = Path(app.srcdir) / "_alt_text.json"
    alt = json.loads(path.read_text()) if path.exists() else {}
    for image in doctree.findall(nodes.image):
        name = Path(image["uri"]).name
        if name in alt:
            image["alt"] = alt[name]


def setup(app):
    app.connect("doctree-resolved", _set_alt_text)
