"""Links a reader expects (names to their API entries, figures to their full size) and tables.

- In the catalogue's table (included from the README, where the names are plain code), each
  schedule's name links to its API entry.
- On every page, inline code that is exactly a public name, `jaxsched.cosine_decay`, links to
  its API entry (the README stays plain Markdown).
- Every image opens at full size: an image without a size gets its natural width as its
  width, which makes Sphinx wrap it in a link to the full-size file (`html_scaled_image_link`)
  while the theme's `max-width: 100%` still fits it to the column.
"""

from __future__ import annotations

import pathlib
from typing import Any

import imagesize
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

import jaxsched

LINKED_TABLES = {"catalogue"}  # pages whose tables' first column names schedules
# The README's prose tables, by page: a class that gives their columns fixed shares
# (docs/_static/jaxsched.css), so that no column starves the others.
TABLE_CLASSES = {"catalogue": "catalogue-table", "conventions": "conventions-table"}


def _xref(name: str, docname: str, shown: str) -> addnodes.pending_xref:
    ref = addnodes.pending_xref(
        "", refdomain="py", reftype="obj", reftarget=f"jaxsched.{name}", refdoc=docname
    )
    ref += nodes.literal(text=shown)
    return ref


def _link(literal: nodes.literal, name: str, docname: str) -> None:
    literal.replace_self(_xref(name, docname, literal.astext()))


def _inside(node: nodes.Node, kinds: tuple[type[nodes.Node], ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, kinds):
            return True
        parent = parent.parent
    return False


def link_names(app: Sphinx, doctree: nodes.document) -> None:
    """Public names in inline code (and the catalogue table's first column) become links."""
    docname = app.env.current_document.docname
    public = set(jaxsched.__all__)
    skip = (nodes.reference, addnodes.pending_xref, nodes.title, addnodes.desc_signature)
    for literal in list(doctree.findall(nodes.literal)):
        if _inside(literal, skip):
            continue
        text = literal.astext()
        if text.startswith("jaxsched.") and text.removeprefix("jaxsched.") in public:
            _link(literal, text.removeprefix("jaxsched."), docname)
        elif docname in LINKED_TABLES and text in public and _first_column(literal):
            _link(literal, text, docname)


def class_tables(app: Sphinx, doctree: nodes.document) -> None:
    """Marks the README's prose tables with their page's table class."""
    docname = app.env.current_document.docname
    if docname in TABLE_CLASSES:
        for table in doctree.findall(nodes.table):
            table["classes"].append(TABLE_CLASSES[docname])


def _first_column(node: nodes.Node) -> bool:
    entry = node.parent
    while entry is not None and not isinstance(entry, nodes.entry):
        entry = entry.parent
    return entry is not None and entry.parent.index(entry) == 0


def size_images(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Gives every image its natural width, so that Sphinx links it to its full size."""
    for image in doctree.findall(nodes.image):
        if any(key in image for key in ("width", "height", "scale")):
            continue
        path = pathlib.Path(app.srcdir) / image["uri"]
        if path.is_file():
            width, _ = imagesize.get(path)
            image["width"] = f"{width}px"


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", link_names)
    app.connect("doctree-read", class_tables)
    app.connect("doctree-resolved", size_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
