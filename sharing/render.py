"""Notebooks as untrusted content: parsed, rendered to static HTML with nbconvert (sanitised), and diffed with
nbdime. Pure functions of the bytes; nothing here touches the database or the network."""

import difflib
import json
from dataclasses import dataclass

import nbformat


class NotANotebook(ValueError):
    pass


def notebook_parse(raw):
    """The notebook in ``raw`` (bytes of an .ipynb), as nbformat 4; NotANotebook says why it is not one."""
    try:
        return nbformat.reads(raw.decode("utf-8"), as_version=4)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise NotANotebook(f"It is not a notebook: {str(exc)[:200]}") from None
    except (nbformat.ValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NotANotebook(f"It is not a valid notebook: {str(exc)[:200]}") from None


def notebook_render(notebook):
    """Static HTML of the notebook. nbconvert sanitises markdown and HTML outputs (bleach) on top of which the
    page is served sandboxed with a CSP that allows no script at all (sharing/views.py): two fences, since a
    sanitiser alone has been bypassed before."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", sanitize_html=True, embed_images=True)
    body, _ = exporter.from_notebook_node(notebook)
    return body.encode("utf-8")


@dataclass(frozen=True)
class CellChange:
    kind: str  # "added", "removed", "changed"
    index: int  # in the older version (added: where it was inserted)
    before: str
    after: str
    lines: list  # unified diff lines of the source (changed cells)
    outputs_changed: bool = False


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def notebook_diff(old, new):
    """The cell-level changes from ``old`` to ``new`` (nbformat notebooks), from nbdime's notebook diff."""
    from nbdime import diff_notebooks
    from nbdime.patching import patch

    changes = []
    for entry in diff_notebooks(old, new):
        if entry["key"] != "cells":
            continue
        for op in entry["diff"]:
            if op["op"] == "addrange":
                changes += [CellChange("added", op["key"], "", _source(cell), []) for cell in op["valuelist"]]
            elif op["op"] == "removerange":
                changes += [CellChange("removed", op["key"] + i, _source(old.cells[op["key"] + i]), "", [])
                            for i in range(op["length"])]
            elif op["op"] == "patch" and {part["key"] for part in op["diff"]} - {"id"}:
                # (a cell whose id alone changed is the same cell to a reader: not listed)
                before_cell = old.cells[op["key"]]
                after_cell = patch(before_cell, op["diff"])
                before, after = _source(before_cell), _source(after_cell)
                lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", lineterm=""))
                outputs = any(part["key"] in ("outputs", "execution_count") for part in op["diff"])
                changes.append(CellChange("changed", op["key"], before, after, lines[2:], outputs_changed=outputs))
    return changes
