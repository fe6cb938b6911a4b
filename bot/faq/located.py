"""A value read from YAML with the line each of its parts starts on, so that every problem in
the FAQ files can be reported with its file and line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Located:
    """A value read from YAML together with the line each of its parts starts on."""

    path: str
    data: Any
    node: yaml.Node | None

    def line(self, *loc: str | int) -> int:
        """Return the 1-based line of the part at `loc`, or of its nearest parent."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else 1
        for key in loc:
            child = _child(node, key)
            if child is None:
                break
            node, line = child, child.start_mark.line + 1
        return line


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(key):
                return value_node  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]  # type: ignore[no-any-return]
    return None
