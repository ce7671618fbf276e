"""How deep a JSON text may nest, checked before it is parsed: the C parser recurses, and a deep
enough input (100 KB of ``[``) overflows the stack of the thread parsing it (a RecursionError at
best). Every door that parses a caller's JSON checks it first: function bodies, socket messages, the
auth endpoints.

Example::

    check_json_depth(text)  # VALIDATION_ERROR past MAX_JSON_DEPTH
    value = json.loads(text)
"""

from __future__ import annotations

from ontology.errors import ValidationError

__all__ = ["MAX_JSON_DEPTH", "check_json_depth"]

#: JSON nested deeper than this is refused before it is parsed.
MAX_JSON_DEPTH = 200


def check_json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    """VALIDATION_ERROR when ``text`` nests arrays/objects deeper than ``limit`` (strings skipped)."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                raise ValidationError(f"The JSON nests deeper than {limit} levels")
        elif ch in "]}":
            depth -= 1
