"""Filter expressions, built the way Convex builds them: ``lambda q: q.eq(q.field("status"), "active")``.

An expression is data (a small tree), so it can be evaluated on a document *and* hashed into a
pagination cursor, binding the cursor to the filter it was made with. Comparisons between values of
different types follow the index order (see :func:`ontology.data.keys.sort_key`).

Example::

    db.query("entities").with_index("by_type", lambda q: q.eq("type", "creator")) \\
      .filter(lambda q: q.and_(q.eq(q.field("status"), "active"), q.gt(q.field("createdAt"), since)))
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from typing import Any

from ontology.data.indexes import get_path
from ontology.data.keys import UNDEFINED, sort_key
from ontology.errors import ValidationError

__all__ = ["Expr", "FilterBuilder", "build_filter"]


class Expr:
    """A node of a filter expression."""

    __slots__ = ("args", "op")

    def __init__(self, op: str, *args: Any) -> None:
        self.op = op
        self.args = args

    def to_json(self) -> Any:
        if self.op == "lit":
            return {"$lit": _jsonable(self.args[0])}
        if self.op == "field":
            return {"$field": self.args[0]}
        return {"$" + self.op: [a.to_json() for a in self.args]}

    def evaluate(self, doc: Mapping[str, Any]) -> Any:
        op = self.op
        if op == "lit":
            return self.args[0]
        if op == "field":
            path = self.args[0]
            if path in {"_id", "_creationTime"}:
                return doc.get(path, UNDEFINED)
            return get_path(doc, path)
        if op == "and":
            return all(_truthy(a.evaluate(doc)) for a in self.args)
        if op == "or":
            return any(_truthy(a.evaluate(doc)) for a in self.args)
        if op == "not":
            return not _truthy(self.args[0].evaluate(doc))
        if op == "contains":
            container, needle = (a.evaluate(doc) for a in self.args)
            return isinstance(container, list) and any(sort_key(v) == sort_key(needle) for v in container)
        values = [a.evaluate(doc) for a in self.args]
        if op in _COMPARE:
            return _COMPARE[op](sort_key(values[0]), sort_key(values[1]))
        if op in _ARITH:
            return _arith(op, values)
        raise ValidationError(f"unknown filter operator {op!r}")  # pragma: no cover


def _jsonable(value: Any) -> Any:
    if value is UNDEFINED:
        return {"$undefined": True}
    return value


def _truthy(value: Any) -> bool:
    return value is not UNDEFINED and bool(value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
_ARITH = {"add", "sub", "mul", "div", "mod", "neg"}


def _arith(op: str, values: list[Any]) -> Any:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return UNDEFINED
    if op == "neg":
        return -values[0]
    a, b = values
    if op in {"div", "mod"} and b == 0:
        return UNDEFINED
    return _BINARY[op](a, b)


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "mod": operator.mod,
}


def _wrap(value: Any) -> Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, FilterBuilder):
        raise ValidationError("filter: pass q.field(...) or a value, not q")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationError(f"filter: {type(value).__name__} is not a JSON value") from None
    return Expr("lit", value)


class FilterBuilder:
    """The ``q`` of ``.filter(lambda q: ...)``."""

    def field(self, path: str) -> Expr:
        if not isinstance(path, str) or not path:
            raise ValidationError("filter: q.field takes a field path such as 'properties.email'")
        return Expr("field", path)

    def eq(self, a: Any, b: Any) -> Expr:
        return Expr("eq", _wrap(a), _wrap(b))

    def neq(self, a: Any, b: Any) -> Expr:
        return Expr("neq", _wrap(a), _wrap(b))

    def lt(self, a: Any, b: Any) -> Expr:
        return Expr("lt", _wrap(a), _wrap(b))

    def lte(self, a: Any, b: Any) -> Expr:
        return Expr("lte", _wrap(a), _wrap(b))

    def gt(self, a: Any, b: Any) -> Expr:
        return Expr("gt", _wrap(a), _wrap(b))

    def gte(self, a: Any, b: Any) -> Expr:
        return Expr("gte", _wrap(a), _wrap(b))

    def contains(self, array: Any, value: Any) -> Expr:
        """True when ``array`` (e.g. ``q.field("properties.niche")``) is a list holding ``value``.
        An extension of Convex's filter vocabulary: arrays of tags are common in properties."""
        return Expr("contains", _wrap(array), _wrap(value))

    def and_(self, *exprs: Any) -> Expr:
        return Expr("and", *(_wrap(e) for e in exprs))

    def or_(self, *exprs: Any) -> Expr:
        return Expr("or", *(_wrap(e) for e in exprs))

    def not_(self, expr: Any) -> Expr:
        return Expr("not", _wrap(expr))

    def add(self, a: Any, b: Any) -> Expr:
        return Expr("add", _wrap(a), _wrap(b))

    def sub(self, a: Any, b: Any) -> Expr:
        return Expr("sub", _wrap(a), _wrap(b))

    def mul(self, a: Any, b: Any) -> Expr:
        return Expr("mul", _wrap(a), _wrap(b))

    def div(self, a: Any, b: Any) -> Expr:
        return Expr("div", _wrap(a), _wrap(b))

    def mod(self, a: Any, b: Any) -> Expr:
        return Expr("mod", _wrap(a), _wrap(b))

    def neg(self, a: Any) -> Expr:
        return Expr("neg", _wrap(a))


def build_filter(fn: Callable[[FilterBuilder], Any]) -> Expr:
    expr = fn(FilterBuilder())
    if not isinstance(expr, Expr):
        raise ValidationError("filter: the function must return an expression built from q")
    return expr
