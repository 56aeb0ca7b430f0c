"""A page is static: widgets, progress bars and figures of an executed chapter, made static.

An ``interact`` shows its figure for the default values and a line naming them; a tqdm bar
shows its final state; every figure gets alt text from its titles (or axis labels, or the
section it sits in). Used by ``site.py``; see its docstring for the whole build.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import os
import re

import nbformat
from nbformat.notebooknode import NotebookNode

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PRELUDE_TAG = "site-prelude"


def _display(data: dict, metadata: dict | None = None) -> NotebookNode:
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def _model_id(ref: str) -> str:
    return ref[len("IPY_MODEL_"):] if isinstance(ref, str) and ref.startswith("IPY_MODEL_") else ref


def _control_value(state: dict) -> str | None:
    """A control's current value as text (sliders, dropdowns, checkboxes, text boxes)."""
    if "_options_labels" in state and state.get("index") is not None:
        labels = state["_options_labels"]
        index = state["index"]
        if isinstance(index, int) and 0 <= index < len(labels):
            return str(labels[index])
    if "value" in state and not isinstance(state["value"], dict | list):
        return str(state["value"])
    return None


_PROGRESS_MODELS = ("FloatProgressModel", "IntProgressModel")
_TEXT_MODELS = ("HTMLModel", "HTMLMathModel", "LabelModel")
_CONTROL_SUFFIXES = ("SliderModel", "DropdownModel", "CheckboxModel", "TextModel", "ToggleButtonModel",
                     "RadioButtonsModel", "SelectModel", "BoundedFloatTextModel", "BoundedIntTextModel",
                     "FloatTextModel", "IntTextModel", "ToggleButtonsModel")


def _progress_html(children: list[dict]) -> NotebookNode:
    texts, bar = [], None
    for child in children:
        if child["model_name"] in _PROGRESS_MODELS:
            bar = child["state"]
        elif child["model_name"] in _TEXT_MODELS:
            texts.append(child["state"].get("value", ""))
    left = texts[0] if texts else ""
    right = " ".join(texts[1:])
    value, maximum = (bar or {}).get("value", 0), (bar or {}).get("max", 1)
    plain = html.unescape(f"{left} [{value}/{maximum}] {right}").strip()
    markup = (f'<div class="site-progress"><span>{left}</span> '
              f'<progress value="{value}" max="{maximum}" aria-label="{html.escape(plain)}"></progress> '
              f"<span>{right}</span></div>")
    return _display({"text/html": markup, "text/plain": plain})


def widget_outputs(model_ref: str, state: dict) -> list[NotebookNode]:
    """Static outputs for a widget view: what it showed, at the state it was left in."""
    model = state.get(_model_id(model_ref))
    if model is None:
        return []
    name, wstate = model.get("model_name", ""), model.get("state", {})
    if name == "OutputModel":
        return static_outputs([nbformat.from_dict(o) for o in wstate.get("outputs", [])], state)
    if name in _TEXT_MODELS:
        value = wstate.get("value", "")
        if not value:
            return []
        return [_display({"text/html": f"<div>{value}</div>", "text/plain": html.unescape(value)})]
    children = [state[_model_id(c)] for c in wstate.get("children", []) if _model_id(c) in state]
    if any(c.get("model_name") in _PROGRESS_MODELS for c in children):
        return [_progress_html(children)]
    if "children" not in wstate:
        return []
    controls, outputs = [], []
    for ref in wstate.get("children", []):
        child = state.get(_model_id(ref), {})
        if child.get("model_name", "").endswith(_CONTROL_SUFFIXES):
            value = _control_value(child.get("state", {}))
            label = child.get("state", {}).get("description") or "value"
            if value is not None:
                controls.append(f"{label} = {value}")
        else:
            outputs.extend(widget_outputs(ref, state))
    if controls:
        note = ("Interactive in JupyterLab; shown here for the default values: "
                + ", ".join(html.escape(c) for c in controls) + ".")
        outputs.insert(0, _display({"text/html": f'<p class="site-widget-note"><em>{note}</em></p>',
                                    "text/plain": html.unescape(note)}))
    return outputs


def _overwrite_carriage_returns(text: str) -> str:
    """What a terminal shows: on each line, only the text after its last carriage return."""
    lines = []
    for line in text.split("\n"):
        pieces = [p for p in line.split("\r") if p]
        lines.append(pieces[-1] if pieces else "")
    return "\n".join(lines)


def static_outputs(outputs: list[NotebookNode], state: dict) -> list[NotebookNode]:
    """Widget views replaced by what they show; streams merged, carriage returns applied."""
    result: list[NotebookNode] = []
    for output in outputs:
        data = output.get("data", {})
        if WIDGET_VIEW in data:
            result.extend(widget_outputs(data[WIDGET_VIEW].get("model_id", ""), state))
            continue
        if (output.get("output_type") == "stream" and result
                and result[-1].get("output_type") == "stream" and result[-1].name == output.name):
            result[-1].text += output.text
            continue
        result.append(copy.deepcopy(output))
    for output in result:
        if output.get("output_type") == "stream":
            output.text = _overwrite_carriage_returns(output.text)
    return [o for o in result if not (o.get("output_type") == "stream" and not o.text.strip())]


def heading_of(cell: NotebookNode) -> str | None:
    for line in cell.source.splitlines():
        match = re.match(r"^#{1,6}\s+(.*)", line)
        if match:
            return match.group(1).strip()
    return None


def _fallback_alt(cell: NotebookNode, section: str) -> str:
    comment = next((line.lstrip("# ").strip() for line in cell.source.splitlines()
                    if line.strip().startswith("#") and len(line.strip()) > 3), "")
    text = f"Figure in section {section}" if section else "Figure"
    return f"{text}: {comment}" if comment else text


def alt_texts(notebooks: list[NotebookNode]) -> dict[str, str]:
    """Image file name on the page -> alt text. myst-nb names an output image by the
    SHA-256 of its bytes and takes alt text only per cell, so ``docs/site/conf.py``
    sets each image's alt from this map."""
    found = {}
    for nb in notebooks:
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                for mime, meta in output.get("metadata", {}).items():
                    if "alt" in meta and mime in output.get("data", {}):
                        raw = base64.b64decode(output["data"][mime]) if mime != "image/svg+xml" \
                            else os.linesep.join(output["data"][mime].splitlines()).encode()
                        extension = {"image/png": ".png", "image/jpeg": ".jpg", "image/svg+xml": ".svg"}[mime]
                        found[hashlib.sha256(raw).hexdigest() + extension] = meta["alt"]
    return found


def add_alt_text(cell: NotebookNode, section: str) -> None:
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        for mime in ("image/png", "image/jpeg", "image/svg+xml"):
            if mime not in data:
                continue
            described = str(data.get("text/plain", "")).strip()
            alt = described if described.startswith("Figure:") else _fallback_alt(cell, section)
            output.setdefault("metadata", {}).setdefault(mime, {})["alt"] = alt


def make_static(nb: NotebookNode) -> NotebookNode:
    """The executed notebook as the page shows it (see the module docstring)."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    cells, section = [], ""
    for cell in nb.cells:
        if PRELUDE_TAG in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "markdown":
            section = heading_of(cell) or section
        if cell.cell_type == "code":
            cell.outputs = static_outputs(cell.outputs, state)
            add_alt_text(cell, section)
            if "site_stub" in cell.metadata:
                cell.source = cell.metadata.pop("site_stub")
            cell.metadata.pop("execution", None)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


# -- the site -----------------------------------------------------------------------------
