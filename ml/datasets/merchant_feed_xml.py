"""The RSS 2.0 layout of a merchant feed: one ``<item>`` per product, attributes as ``<g:...>``.

Read with expat rather than ElementTree because a merchant fixing a feed needs the *line* of each
bad item (ElementTree keeps none), and a streaming parser keeps memory to the raw values.

- Attributes are the item's direct children in the ``g:`` namespace
  (``http://base.google.com/ns/1.0``) or in none (RSS's own ``<title>``, ``<link>``,
  ``<description>``; older feeds write every attribute unprefixed). Children of those children
  (``<g:shipping><g:country>``) and elements of other namespaces are ignored. When an attribute
  is given both ways, the ``g:`` one wins.
- Repeated elements keep every value (``additional_image_link``), in document order.
- A DTD that declares entities is refused: feeds never need one, and entity expansion is how
  an XML file is made to eat memory.
"""
from __future__ import annotations

from pathlib import Path
from xml.parsers import expat

from ml.datasets.merchant_feed_values import attribute_name

G_NAMESPACE = "http://base.google.com/ns/1.0"
_SEP = "\x1f"  # between namespace and local name in expat's names; never in either


class _Refused(Exception):
    pass


def read_xml_items(path: str | Path, problems: list[tuple[int, str]]) -> list[tuple[int, str, dict[str, list[str]]]]:
    """``(line, 'item N', raw values by attribute name)`` per ``<item>``; syntax problems are
    appended to ``problems`` (the items read before a syntax error are still returned, so their
    own problems are reported too)."""
    parser = expat.ParserCreate(namespace_separator=_SEP)
    items: list[tuple[int, str, dict[str, list[str]]]] = []
    depth = 0
    item_depth: int | None = None
    current: dict[str, list[str]] = {}
    prefixed: set[str] = set()  # attributes of the current item given with the g: prefix
    child: tuple[str, bool] | None = None  # (attribute, in the g: namespace) being read
    text: list[str] = []

    def start(name: str, _attributes) -> None:
        nonlocal depth, item_depth, current, child, text
        depth += 1
        namespace, _, local = name.rpartition(_SEP)
        if item_depth is None:
            if local == "item" and namespace == "":
                item_depth, current = depth, {}
                prefixed.clear()
                items.append((parser.CurrentLineNumber, f"item {len(items) + 1}", current))
            return
        if depth == item_depth + 1 and namespace in ("", G_NAMESPACE):
            child, text = (attribute_name(local), namespace == G_NAMESPACE), []

    def end(_name: str) -> None:
        nonlocal depth, item_depth, child
        if item_depth is not None and depth == item_depth + 1 and child is not None:
            attribute, in_g = child
            value = "".join(text)
            if in_g and attribute not in prefixed:
                prefixed.add(attribute)
                current[attribute] = []  # the g: spelling replaces an unprefixed one read before
            if in_g or attribute not in prefixed:
                current.setdefault(attribute, []).append(value)
            child = None
        if depth == item_depth:
            item_depth = None
        depth -= 1

    def characters(data: str) -> None:
        if child is not None and item_depth is not None and depth == item_depth + 1:
            text.append(data)

    def refuse_entities(*_args) -> None:
        raise _Refused("the feed declares XML entities (a DTD): not allowed in a product feed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.EntityDeclHandler = refuse_entities
    parser.buffer_text = True
    try:
        with Path(path).open("rb") as handle:
            parser.ParseFile(handle)
    except expat.ExpatError as error:
        problems.append((error.lineno, f"XML syntax: {expat.ErrorString(error.code)} (column {error.offset + 1})"))
        if item_depth is not None and items:
            items.pop()  # the item the error cut short is not a product
    except _Refused as error:
        problems.append((parser.CurrentLineNumber, str(error)))
        return []
    return items
