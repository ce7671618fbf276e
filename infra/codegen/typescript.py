"""Convex's validators (:mod:`infra.codegen.validators`) written as TypeScript types, the way
Convex's own codegen writes them (``validatorToType``): ``Id<"entities">``, ``Array<T>``,
``Record<K, V>``, ``bigint``, ``ArrayBuffer``, objects with ``?`` for an optional field, and an empty
object as ``Record<string, never>`` (so that a function without arguments is called without them).
A named type is written by its name; the names it uses are collected for the file's imports."""

from __future__ import annotations

import json
import re
from typing import Any

from infra.codegen.validators import Validator

__all__ = ["TypeScript", "doc_comment", "key"]

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
#: A union longer than this is written one member a line.
_WIDTH = 88


def key(name: str) -> str:
    """An object key: bare when it is an identifier, quoted otherwise."""
    return name if _IDENTIFIER.match(name) else json.dumps(name)


def doc_comment(text: str, indent: str) -> str:
    """A JSDoc comment of ``text`` (its lines as they are), at ``indent``."""
    lines = text.replace("*/", "*\\/").splitlines() or [""]
    body = "".join(f"{indent} *{' ' + line if line else ''}\n" for line in lines)
    return f"{indent}/**\n{body}{indent} */\n"


def _literal(value: Any) -> str:
    if isinstance(value, dict) and "$integer" in value:  # a bigint literal
        import base64

        raw = base64.b64decode(value["$integer"])
        return f"{int.from_bytes(raw, 'little', signed=True)}n"
    return json.dumps(value)


class TypeScript:
    """Writes validators as TypeScript; ``used`` names the types they refer to."""

    def __init__(self) -> None:
        #: The leading names of the named types written (``Doc``, ``Id``, ``PaginationResult``, …).
        self.used: set[str] = set()

    def type(self, v: Validator, indent: str = "") -> str:
        """``v`` as a type expression; a multi-line one continues at ``indent``."""
        kind: str = v["type"]
        simple = {"null": "null", "number": "number", "bigint": "bigint", "boolean": "boolean"}
        if kind in simple:
            return simple[kind]
        if kind in ("string", "any"):
            return kind
        if kind == "bytes":
            return "ArrayBuffer"
        if kind == "literal":
            return _literal(v["value"])
        if kind == "id":
            self.used.add("Id")
            return f'Id<"{v["tableName"]}">'
        if kind == "$named":
            self.used.add(re.split(r"[<\[]", v["name"], maxsplit=1)[0])
            for inner in re.findall(r"[A-Z][A-Za-z]+", v["name"]):
                self.used.add(inner)
            return str(v["name"])
        if kind == "array":
            return f"Array<{self.type(v['value'], indent)}>"
        if kind == "record":
            keys = self.type(v["keys"], indent)
            return f"Record<{keys}, {self.type(v['values']['fieldType'], indent)}>"
        if kind == "object":
            return self.object(v, indent)
        if kind == "union":
            return self.union(v, indent)
        if kind == "$page":
            self.used.add("PaginationResult")
            return f"PaginationResult<{self.type(v['value'], indent)}>"
        if kind == "$intersect":
            parts = [self._grouped(m, indent) for m in v["value"]]
            return " & ".join(parts)
        raise ValueError(f"no TypeScript for a validator of kind {kind!r}")

    def _grouped(self, v: Validator, indent: str) -> str:
        text = self.type(v, indent)
        return f"({text})" if v["type"] == "union" else text

    def object(self, v: Validator, indent: str) -> str:
        fields = v["value"]
        if not fields:
            return "Record<string, never>"
        inner = indent + "  "
        lines = []
        for name, f in fields.items():
            text = self.member(f["fieldType"], inner)
            sep = "" if text.startswith("\n") else " "
            lines.append(f"{inner}{key(name)}{'?' if f['optional'] else ''}:{sep}{text};\n")
        return "{\n" + "".join(lines) + indent + "}"

    def union(self, v: Validator, indent: str) -> str:
        parts = [self._grouped_in_union(m, indent) for m in v["value"]]
        return " | ".join(parts)

    def _grouped_in_union(self, v: Validator, indent: str) -> str:
        text = self.type(v, indent)
        return f"({text})" if v["type"] == "$intersect" else text

    def member(self, v: Validator, indent: str) -> str:
        """``v`` where a long union may take a line per member (a field's type, a type alias)."""
        text = self.type(v, indent)
        if v["type"] != "union" or (len(text) <= _WIDTH and "\n" not in text):
            return text
        parts = [self._grouped_in_union(m, indent + "    ") for m in v["value"]]
        return "".join(f"\n{indent}  | {p}" for p in parts)
