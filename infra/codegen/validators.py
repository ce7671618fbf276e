"""The platform's pydantic models as Convex's validators (``ValidatorJSON`` of ``convex/values``).

A function's arguments, its result and each table's documents become the JSON form of Convex's
validators (``{"type": "object", "value": {"id": {"fieldType": {"type": "id", "tableName":
"entities"}, "optional": false}}}``), what ``npx convex function-spec`` prints and what the
TypeScript of :mod:`infra.codegen.typescript` is written from. They are read from pydantic's own JSON
schema of each model, so that every constraint pydantic knows (a ``Literal``, an ``Annotated``
number, a nested model) is read the way pydantic reads it, with what Convex's types need marked
on the way:

- an id field (its check is :class:`~ontology.data.fields.IdOf`) is ``Id<"table">``;
- a result model of documents (``EntityOut``, ``ConnectionOut``, …; their ``TABLE``) is the table's
  document, an entity of one type (``type: Literal["token"]``) that type's document, with the
  model's own extra fields added; ``Page[T]`` is Convex's ``PaginationResult<T>`` and
  ``PaginationOpts`` its ``PaginationOptions``;
- an integer is a ``number`` when its bounds keep it within ±(2**53 - 1): the platform sends such an
  integer as a JSON number, one beyond it as ``{"$integer": …}``, a ``bigint`` in JavaScript (and
  takes a ``bigint`` for any integer argument), so an integer without such bounds is
  ``number | bigint``;
- optional and nullable as the wire has them: an argument with a default may be left out
  (``optional``), one that takes ``None`` is ``… | null``. A stored document holds every field that
  has a default other than None (the write stores the default), and an entity's typed
  ``properties`` never hold null (they are stored without their None fields).

Beyond Convex's kinds, four stand for a named TypeScript type (written by name in the TypeScript,
expanded in the function spec): ``$named`` (``{"name": 'Entity<"token">', "value": …}``),
``$intersect`` (a document with a result's extra fields), ``$page`` and nothing else.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from ontology.data.documents import DOCUMENT_MODELS, PROPERTY_MODELS
from ontology.data.enums import ENTITY_STATUSES, ENTITY_TYPES, EVENT_TYPES, RELATIONSHIP_TYPES, ROLES
from ontology.data.fields import IdOf
from ontology.data.schema import TABLES
from ontology.data.visibility import ENTITY_RULES, INTERNAL_PROPERTIES, TABLE_RULES
from ontology.runtime.results import Page, PaginationOpts

__all__ = ["SAFE_INTEGER", "Validator", "Validators", "expand", "named"]

Validator = dict[str, Any]

#: The largest integer a float64 (a JavaScript number) holds exactly.
SAFE_INTEGER = 2**53 - 1
SYSTEM_FIELDS = ("_id", "_creationTime")

#: The platform's enumerations by the name ``dataModel.d.ts`` gives them.
NAMED_LITERALS: dict[str, tuple[str, ...]] = {
    "EntityType": ENTITY_TYPES,
    "EntityStatus": ENTITY_STATUSES,
    "RelationshipType": RELATIONSHIP_TYPES,
    "EventType": EVENT_TYPES,
    "Role": ROLES,
}
#: The entity types whose ``properties`` are typed (sorted, as the generated files list them).
TYPED_ENTITIES = tuple(sorted(PROPERTY_MODELS))
#: The TypeScript of the entity types without typed properties.
UNTYPED_ENTITY = "Exclude<EntityType, keyof EntityProperties>"

_NUMBER: Validator = {"type": "number"}
_INTEGER: Validator = {"type": "union", "value": [{"type": "number"}, {"type": "bigint"}]}
_ANY: Validator = {"type": "any"}


def named(name: str, value: Validator) -> Validator:
    """A type the TypeScript names (``Doc<"entities">``) and the spec spells out."""
    return {"type": "$named", "name": name, "value": value}


def field(validator: Validator, optional: bool = False) -> dict[str, Any]:
    return {"fieldType": validator, "optional": optional}


def obj(fields: dict[str, dict[str, Any]]) -> Validator:
    return {"type": "object", "value": fields}


def union(members: list[Validator]) -> Validator:
    """A union, flattened, without repeats (``int | float`` is ``number | bigint``); one member is
    itself."""
    flat: list[Validator] = []
    for m in members:
        for inner in m["value"] if m["type"] == "union" else [m]:
            if inner not in flat:
                flat.append(inner)
    return flat[0] if len(flat) == 1 else {"type": "union", "value": flat}


def literals(values: tuple[Any, ...] | list[Any]) -> Validator:
    """A union of literals; one of the platform's enumerations by its name."""
    members = [{"type": "literal", "value": v} for v in values]
    for name, known in NAMED_LITERALS.items():
        if len(values) == len(known) and set(values) == set(known):
            return named(name, union(members))
    return union(members)


class _Marked(GenerateJsonSchema):
    """pydantic's JSON schema, with ids, documents, pages and pagination options marked."""

    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema) -> JsonSchemaValue:
        out = super().function_after_schema(schema)
        check = schema["function"]["function"]
        if isinstance(check, IdOf):
            out = {**out, "x-convex-id": check.table or "*"}
        return out

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        out = super().model_schema(schema)
        cls = schema["cls"]
        table = getattr(cls, "TABLE", None)
        if isinstance(table, str) and table:
            out["x-convex-doc"] = table
        elif issubclass(cls, Page):
            out["x-convex-page"] = True
        elif issubclass(cls, PaginationOpts):
            out["x-convex-pagination-opts"] = True
        return out


class _Stored(_Marked):
    """A stored document's shape: a field with a default other than None is always there."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        inner: CoreSchema = field["schema"]
        if inner["type"] == "default":
            return "default_factory" in inner or inner.get("default") is not None
        return super().field_is_required(field, total)


class Validators:
    """Convex's validators of the platform's models (one generation's worth: documents are
    converted once)."""

    def args(self, model: type[BaseModel]) -> Validator:
        """A function's arguments: always an object."""
        out = self.convert(model, "validation")
        if out["type"] != "object":
            raise TypeError(f"{model.__name__}: arguments must be an object")
        return out

    def returns(self, tp: Any) -> Validator:
        """A function's result (``any`` when it declares none)."""
        return _ANY if tp is None else self.convert(tp, "serialization")

    def convert(self, tp: Any, mode: JsonSchemaMode, *, stored: bool = False) -> Validator:
        generator = _Stored if stored else _Marked
        schema = TypeAdapter(tp).json_schema(mode=mode, schema_generator=generator)
        return _Reader(self, schema.get("$defs", {})).read(schema)

    # ------------------------------------------------------------------------------- documents

    def document(self, table: str) -> Validator:
        """A table's documents: ``Doc<"table">``."""
        value = self.entity_union if table == "entities" else self._documents[table]
        return named(f'Doc<"{table}">', value)

    def entity(self, entity_type: str) -> Validator:
        """The documents of one entity type: ``Entity<"token">``."""
        if entity_type in PROPERTY_MODELS:
            value = self.entity_variants[entity_type]
        else:
            base = self.entity_variants[""]
            value = obj({**base["value"], "type": field({"type": "literal", "value": entity_type})})
        return named(f'Entity<"{entity_type}">', value)

    @cached_property
    def _documents(self) -> dict[str, Validator]:
        out = {}
        for name in sorted(TABLES):
            if name == "entities":
                continue
            doc = self.convert(DOCUMENT_MODELS[name], "serialization", stored=True)
            rule = TABLE_RULES.get(name)
            doc = _optional(doc, rule.hidden if rule else ())
            out[name] = _with_system_fields(name, doc)
        return out

    @cached_property
    def entity_properties(self) -> dict[str, Validator]:
        """Each typed entity type's ``properties``, as anyone who may read them reads them (the
        fields only its staff see may be missing)."""
        out = {}
        for kind in TYPED_ENTITIES:
            props = self.convert(PROPERTY_MODELS[kind], "serialization", stored=True)
            props = _drop_null(props)
            rule = ENTITY_RULES.get(kind)
            hidden = [*INTERNAL_PROPERTIES, *(rule.hidden if rule else ())]
            props = _optional(props, [h.removeprefix("properties.") for h in hidden if "." in h])
            out[kind] = props
        return out

    @cached_property
    def entity_variants(self) -> dict[str, Validator]:
        """An entity document per typed type, and (key ``""``) one for every other type."""
        base = self.convert(DOCUMENT_MODELS["entities"], "serialization", stored=True)
        out = {}
        for kind in (*TYPED_ENTITIES, ""):
            fields = dict(base["value"])
            if kind:
                fields["type"] = field({"type": "literal", "value": kind})
                props = named(f'EntityProperties["{kind}"]', self.entity_properties[kind])
                fields["properties"] = field(props)
            else:
                rest = [t for t in ENTITY_TYPES if t not in PROPERTY_MODELS]
                fields["type"] = field(named(UNTYPED_ENTITY, literals(rest)))
                fields["properties"] = field(_record(_ANY))
            out[kind] = _with_system_fields("entities", obj(fields))
        return out

    @cached_property
    def entity_union(self) -> Validator:
        return union([self.entity_variants[k] for k in (*TYPED_ENTITIES, "")])


def _record(values: Validator) -> Validator:
    return {"type": "record", "keys": {"type": "string"}, "values": field(values)}


def _with_system_fields(table: str, doc: Validator) -> Validator:
    system = {"_id": field({"type": "id", "tableName": table}), "_creationTime": field(_NUMBER)}
    return obj({**system, **doc["value"]})


def _optional(doc: Validator, paths: Any) -> Validator:
    """``doc`` with the fields at these dotted paths optional."""
    fields = dict(doc["value"])
    for path in paths:
        head, _, rest = path.partition(".")
        if head not in fields:
            continue
        if rest and fields[head]["fieldType"]["type"] == "object":
            fields[head] = field(_optional(fields[head]["fieldType"], [rest]), fields[head]["optional"])
        elif not rest:
            fields[head] = field(fields[head]["fieldType"], True)
    return obj(fields)


def _drop_null(v: Validator) -> Validator:
    """``v`` without null in its optional fields, at any depth (what ``exclude_none`` stores)."""
    kind = v["type"]
    if kind == "object":
        fields = {}
        for name, f in v["value"].items():
            inner = _drop_null(f["fieldType"])
            if f["optional"] and inner["type"] == "union":
                inner = union([m for m in inner["value"] if m["type"] != "null"])
            fields[name] = field(inner, f["optional"])
        return obj(fields)
    if kind == "union":
        return union([_drop_null(m) for m in v["value"]])
    if kind == "array":
        return {"type": "array", "value": _drop_null(v["value"])}
    return v


class _Reader:
    """One JSON schema (and its ``$defs``) read as a validator."""

    def __init__(self, validators: Validators, defs: dict[str, Any]) -> None:
        self.validators, self.defs = validators, defs
        self._reading: list[str] = []

    def read(self, schema: dict[str, Any]) -> Validator:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name in self._reading:  # a model that holds itself: Convex has no name for it
                return _ANY
            self._reading.append(name)
            try:
                return self.read(self.defs[name])
            finally:
                self._reading.pop()
        for mark, reader in (
            ("x-convex-doc", self._document),
            ("x-convex-page", self._page),
            ("x-convex-pagination-opts", self._pagination_opts),
        ):
            if mark in schema:
                return reader(schema)
        return self._plain(schema)

    def _plain(self, schema: dict[str, Any]) -> Validator:
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            # pydantic puts the bounds of a union of numbers beside it (``int | float`` ≥ 0)
            bounds = {k: schema[k] for k in (*_LOW, *_HIGH) if k in schema}
            return union([self.read({**bounds, **b}) for b in branches])
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.read(schema["allOf"][0])
        if "const" in schema:
            return {"type": "literal", "value": schema["const"]}
        if "enum" in schema:
            return literals(list(schema["enum"]))
        kind = schema.get("type")
        if isinstance(kind, list):
            return union([self._plain({**schema, "type": k}) for k in kind])
        return self._typed(kind, schema)

    def _typed(self, kind: str | None, schema: dict[str, Any]) -> Validator:
        if kind == "string":
            table = schema.get("x-convex-id")
            if table == "*":
                ids = [{"type": "id", "tableName": t} for t in sorted(TABLES)]
                return named("Id<TableNames>", union(ids))
            if table:
                return {"type": "id", "tableName": table}
            return {"type": "bytes"} if schema.get("format") == "binary" else {"type": "string"}
        if kind == "integer":
            return _NUMBER if _bounded(schema) else _INTEGER
        if kind in ("number", "boolean", "null"):
            return {"type": kind}
        if kind == "array":
            items = schema.get("items") or (
                {"anyOf": schema["prefixItems"]} if schema.get("prefixItems") else {}
            )
            return {"type": "array", "value": self.read(items)}
        if kind == "object" or "properties" in schema:
            return self._object(schema)
        return _ANY

    def _object(self, schema: dict[str, Any]) -> Validator:
        properties = schema.get("properties")
        if properties is None:
            extra = schema.get("additionalProperties")
            return _record(self.read(extra) if isinstance(extra, dict) else _ANY)
        required = set(schema.get("required", ()))
        return obj({k: field(self.read(v), k not in required) for k, v in properties.items()})

    def _document(self, schema: dict[str, Any]) -> Validator:
        """A result model of a table's documents: the table's document, with its extra fields."""
        table = schema["x-convex-doc"]
        properties = schema.get("properties", {})
        kind = properties.get("type", {}).get("const") if table == "entities" else None
        base = self.validators.entity(kind) if kind else self.validators.document(table)
        known = {*SYSTEM_FIELDS, *DOCUMENT_MODELS[table].model_fields}
        extra = {k: v for k, v in properties.items() if k not in known}
        if not extra:
            return base
        more = self._object({**schema, "properties": extra})
        return {"type": "$intersect", "value": [base, more]}

    def _page(self, schema: dict[str, Any]) -> Validator:
        return {"type": "$page", "value": self.read(schema["properties"]["page"].get("items", {}))}

    def _pagination_opts(self, schema: dict[str, Any]) -> Validator:
        plain = {k: v for k, v in schema.items() if k != "x-convex-pagination-opts"}
        return named("PaginationOptions", self._object(plain))


#: A number's bounds in JSON schema (and as pydantic writes them beside a union: ``ge``, ``le``, …).
_LOW = ("minimum", "exclusiveMinimum", "ge", "gt")
_HIGH = ("maximum", "exclusiveMaximum", "le", "lt")


def _bounded(schema: dict[str, Any]) -> bool:
    """Whether an integer's bounds keep it a JSON number on the wire (within ±(2**53 - 1))."""
    low = next((schema[k] for k in _LOW if k in schema), None)
    high = next((schema[k] for k in _HIGH if k in schema), None)
    return low is not None and high is not None and low >= -SAFE_INTEGER and high <= SAFE_INTEGER


def expand(v: Validator) -> Validator:
    """``v`` in Convex's own kinds only (what the function spec prints)."""
    kind = v["type"]
    if kind == "$named":
        return expand(v["value"])
    if kind == "$page":
        return obj(
            {
                "page": field({"type": "array", "value": expand(v["value"])}),
                "isDone": field({"type": "boolean"}),
                "continueCursor": field({"type": "string"}),
            }
        )
    if kind == "$intersect":
        base, more = (expand(m) for m in v["value"])
        variants = base["value"] if base["type"] == "union" else [base]
        return union([obj({**b["value"], **more["value"]}) for b in variants])
    if kind == "object":
        return obj({k: field(expand(f["fieldType"]), f["optional"]) for k, f in v["value"].items()})
    if kind == "union":
        return union([expand(m) for m in v["value"]])
    if kind == "array":
        return {"type": "array", "value": expand(v["value"])}
    if kind == "record":
        return {
            "type": "record",
            "keys": expand(v["keys"]),
            "values": field(expand(v["values"]["fieldType"])),
        }
    return v
