"""What ``one codegen`` writes: ``api.js``, ``api.d.ts`` and ``dataModel.d.ts`` in the form of
``npx convex codegen``'s, and the function spec of ``npx convex function-spec``.

Everything is in a stable order (namespaces, functions, tables and fields as the registry and the
models declare them, sorted where Convex sorts) and carries no timestamp: the same functions give
the same bytes, so a committed copy can be checked (``one codegen --check``)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any

from infra.codegen.typescript import TypeScript, doc_comment, key
from infra.codegen.validators import (
    NAMED_LITERALS,
    TYPED_ENTITIES,
    Validator,
    Validators,
    expand,
    field,
    obj,
)
from ontology.data.indexes import SearchIndex, VectorIndex
from ontology.data.schema import TABLES
from ontology.runtime.registry import FunctionSpec, load_all
from ontology.sync.paths import snake_case

__all__ = ["API_DTS", "API_JS", "DATA_MODEL", "FILES", "Function", "catalogue", "function_spec", "render"]

API_JS, API_DTS, DATA_MODEL = "api.js", "api.d.ts", "dataModel.d.ts"
FILES = (API_JS, API_DTS, DATA_MODEL)

#: What each of the platform's enumerations is, for its comment in ``dataModel.d.ts``.
_ENUMERATIONS = {
    "EntityType": "An entity's type: the reference's thing types.",
    "EntityStatus": "An entity's status.",
    "RelationshipType": "A connection's relationship type.",
    "EventType": "An event's type.",
    "Role": "A member's role in an organization, from the least to the most it may do.",
}
_DATA_MODEL_EXPORTS = frozenset({"Doc", "Entity", "EntityProperties", "Id", "TableNames", *NAMED_LITERALS})
_SERVER_EXPORTS = frozenset({"FunctionReference", "PaginationOptions", "PaginationResult"})


def header(what: str) -> str:
    return (
        "/* eslint-disable */\n"
        "/**\n"
        f" * {what}\n"
        " *\n"
        " * THIS CODE IS AUTOMATICALLY GENERATED from the ONE platform's functions and schema: do not\n"
        " * edit it.\n"
        " *\n"
        " * To regenerate, run `one codegen` (`make dev` keeps it current as functions change).\n"
        " * @module\n"
        " */\n"
    )


@dataclass(frozen=True)
class Function:
    """A function as the clients see it: its names in the ``api`` (or ``internal``) tree and its
    types."""

    spec: FunctionSpec
    args: Validator
    returns: Validator

    @property
    def visibility(self) -> str:
        return "internal" if self.spec.internal else "public"

    @property
    def names(self) -> tuple[str, ...]:
        """Its own name first, then those the platform also resolves: the camelCase of its own (an
        internal function answers to its own only) and its aliases."""
        own = self.spec.name
        if self.spec.internal:
            return (own,)
        first, *rest = own.split("_")
        camel = first + "".join(w[:1].upper() + w[1:] for w in rest)
        found = [own]
        for name in (camel, *self.spec.aliases):
            if name not in found and (snake_case(name) == own or name in self.spec.aliases):
                found.append(name)
        return tuple(found)


def catalogue(validators: Validators) -> tuple[list[Function], list[FunctionSpec]]:
    """The functions a Convex client names (queries, mutations, actions), and the HTTP-only ones (a
    webhook takes the request itself), in the registry's order. The front door's catch-all route is
    neither."""
    functions, http = [], []
    for fn in load_all().values():
        spec = fn.spec
        if spec.route == "$default" or spec.system:  # system functions: the platform's own tools'
            continue
        if spec.request:
            http.append(spec)
            continue
        functions.append(Function(spec, validators.args(spec.args), validators.returns(spec.returns)))
    return functions, http


# ------------------------------------------------------------------------------------------ api


def _description(fn: Function) -> str:
    spec = fn.spec
    text = spec.description.replace("``", "`") or f"`{spec.path}`."
    wrapped = "\n".join(textwrap.wrap(text, 96, break_on_hyphens=False, break_long_words=False))
    article = "an" if spec.kind == "action" else "a"
    return f"{wrapped}\n\n`{spec.path}`: {article} {spec.kind}; who may call it: {spec.auth}."


def _reference(fn: Function, ts: TypeScript, lead: int, indent: str) -> str:
    """``FunctionReference<kind, visibility, Args, Returns>``: on one line when it fits in 100
    characters after ``lead`` of them, else a parameter a line."""
    inner = indent + "  "
    parts = [f'"{fn.spec.kind}"', f'"{fn.visibility}"', ts.type(fn.args, inner), ts.type(fn.returns, inner)]
    one_line = f"FunctionReference<{', '.join(parts)}>"
    if lead + len(one_line) < 100 and "\n" not in one_line:
        return one_line
    return "FunctionReference<\n" + ",\n".join(inner + p for p in parts) + f"\n{indent}>"


def _tree(name: str, functions: list[Function], ts: TypeScript) -> str:
    """``PublicApiType`` / ``InternalApiType``: a namespace per module, a reference per name."""
    modules: dict[str, list[Function]] = {}
    for fn in functions:
        modules.setdefault(fn.spec.module, []).append(fn)
    lines = [f"export type {name} = {{\n"]
    for module in sorted(modules):
        lines.append(f"  {key(module)}: {{\n")
        for fn in modules[module]:
            own, *others = fn.names
            lines.append(doc_comment(_description(fn), "    "))
            lead = f"    {key(own)}: "
            lines.append(f"{lead}{_reference(fn, ts, len(lead), '    ')};\n")
            for other in others:
                how = "the reference's name" if other in fn.spec.aliases else "its camelCase name"
                lines.append(f"    /** `{fn.spec.path}` by {how}, `{module}:{other}`. */\n")
                lines.append(f"    {key(other)}: {name}[{json.dumps(module)}][{json.dumps(own)}];\n")
        lines.append("  };\n")
    lines.append("};\n")
    return "".join(lines).replace("{\n};", "{};")


def api_dts(functions: list[Function]) -> str:
    ts = TypeScript()
    public = _tree("PublicApiType", [f for f in functions if not f.spec.internal], ts)
    internal = _tree("InternalApiType", [f for f in functions if f.spec.internal], ts)
    ts.used.add("FunctionReference")
    server = sorted(ts.used & _SERVER_EXPORTS)
    model = sorted(ts.used & _DATA_MODEL_EXPORTS)
    return (
        header("Generated `api` utility.")
        + "\n"
        + f'import type {{ {", ".join(server)} }} from "convex/server";\n'
        + f'import type {{ {", ".join(model)} }} from "./dataModel.js";\n\n'
        + doc_comment(
            "The platform's public functions: every query, mutation and action a client may call, by\n"
            "its namespace and its own name (`tokens.get_balance`) and by the camelCase one\n"
            "(`tokens.getBalance`), as the platform resolves both.",
            "",
        )
        + public
        + "\n"
        + doc_comment(
            "The platform's internal functions (schedules, crons, the token purchase's saga): only the\n"
            "platform calls them; no client reaches them, and `api` does not name them.",
            "",
        )
        + internal
        + "\n"
        + doc_comment(_USAGE.format(api="api", which="public"), "")
        + "export declare const api: PublicApiType;\n\n"
        + doc_comment(_USAGE.format(api="internal", which="internal"), "")
        + "export declare const internal: InternalApiType;\n"
    )


_USAGE = """A utility for referencing Convex functions in your app's {which} API.

Usage:
```js
const myFunctionReference = {api}.myModule.myFunction;
```"""


def api_js() -> str:
    return (
        header("Generated `api` utility.")
        + "\n"
        + 'import { anyApi } from "convex/server";\n\n'
        + doc_comment(_USAGE.format(api="api", which="public"), "")
        + "export const api = anyApi;\n\n"
        + doc_comment(_USAGE.format(api="internal", which="internal"), "")
        + "export const internal = anyApi;\n"
    )


# ----------------------------------------------------------------------------------- data model


def _field_paths(v: Validator, prefix: str = "") -> list[str]:
    """Convex's ``fieldPaths`` of a document: every field, and every field of a nested object (a
    record's keys are ``${string}``)."""
    out: list[str] = []
    if v["type"] == "object":
        for name, f in v["value"].items():
            out.append(prefix + name)
            out.extend(_field_paths(f["fieldType"], f"{prefix}{name}."))
    elif v["type"] == "union":
        for member in v["value"]:
            out.extend(_field_paths(member, prefix))
    elif v["type"] == "record":
        out.append(prefix + "${string}")
    return out


def _literal_union(values: list[str] | tuple[str, ...]) -> str:
    if not values:
        return "never"
    return " | ".join(f"`{v}`" if "${" in v else json.dumps(v) for v in values)


def _table(name: str, validators: Validators, ts: TypeScript) -> str:
    table = TABLES[name]
    document = validators.document(name)["value"]
    paths = sorted(set(_field_paths(expand(document))))
    indexes = {"by_id": ["_id"], "by_creation_time": ["_creationTime"]}
    for index in table.indexes:
        if index.name != "by_creation_time":
            indexes[index.name] = [*index.fields, "_creationTime"]
    lines = [f"  {key(name)}: {{\n", f"    document:{_spaced(ts.member(document, '    '))};\n"]
    lines.append(f"    fieldPaths:{_spaced(_wrap_union(_literal_union(paths), '    '))};\n")
    lines.append("    indexes: {\n")
    lines.extend(f"      {key(i)}: {json.dumps(f)};\n" for i, f in indexes.items())
    lines.append("    };\n")
    lines.append(_search_indexes(table.search_indexes))
    lines.append(_vector_indexes(table.vector_indexes))
    lines.append("  };\n")
    return "".join(lines)


def _search_indexes(indexes: tuple[SearchIndex, ...]) -> str:
    if not indexes:
        return "    searchIndexes: {};\n"
    out = ["    searchIndexes: {\n"]
    for index in indexes:
        out.append(f"      {key(index.name)}: {{\n")
        out.append(f"        searchField: {json.dumps(index.search_field)};\n")
        out.append(f"        filterFields: {_literal_union(index.filter_fields)};\n")
        out.append("      };\n")
    return "".join([*out, "    };\n"])


def _vector_indexes(indexes: tuple[VectorIndex, ...]) -> str:
    if not indexes:
        return "    vectorIndexes: {};\n"
    out = ["    vectorIndexes: {\n"]
    for index in indexes:
        out.append(f"      {key(index.name)}: {{\n")
        out.append(f"        vectorField: {json.dumps(index.vector_field)};\n")
        out.append("        dimensions: number;\n")
        out.append(f"        filterFields: {_literal_union(index.filter_fields)};\n")
        out.append("      };\n")
    return "".join([*out, "    };\n"])


def _spaced(text: str) -> str:
    return text if text.startswith("\n") else " " + text


def _wrap_union(text: str, indent: str) -> str:
    """A union of literals, one a line when it is long."""
    if len(text) <= 88:
        return text
    return "".join(f"\n{indent}  | {part}" for part in text.split(" | "))


def data_model(validators: Validators) -> str:
    ts = TypeScript()
    out = [
        header("Generated data model types."),
        "\n",
        'import type { DocumentByName, SystemTableNames, TableNamesInDataModel } from "convex/server";\n',
        'import type { GenericId } from "convex/values";\n\n',
    ]
    for name, values in NAMED_LITERALS.items():
        out.append(doc_comment(_ENUMERATIONS[name], ""))
        out.append(f"export type {name} ={_spaced(_wrap_union(_literal_union(values), ''))};\n\n")
    out.append(
        doc_comment(
            "The `properties` of an entity, by its type, as whoever may read the entity reads them:\n"
            "a field only its organization's staff read may be absent. Any other type's properties\n"
            "are a JSON object (at most 64 KB).",
            "",
        )
    )
    properties = obj({kind: field(validators.entity_properties[kind]) for kind in TYPED_ENTITIES})
    out.append(f"export type EntityProperties = {ts.object(properties, '')};\n\n")
    out.append(doc_comment(_DATA_MODEL_COMMENT, ""))
    out.append("export type DataModel = {\n")
    out.extend(_table(name, validators, ts) for name in sorted(TABLES))
    out.append("};\n\n")
    out.append(_DATA_MODEL_TAIL)
    return "".join(out)


_DATA_MODEL_COMMENT = """A type describing the platform's data model, as Convex's codegen describes a
schema's.

This type includes information about what tables there are, the type of documents stored in
those tables, and the indexes defined on them."""

_DATA_MODEL_TAIL = """/**
 * The names of all of the platform's tables.
 */
export type TableNames = TableNamesInDataModel<DataModel>;

/**
 * The type of a document stored in a table.
 *
 * @typeParam TableName - A string literal type of the table name (like "entities").
 */
export type Doc<TableName extends TableNames> = DocumentByName<DataModel, TableName>;

/**
 * An identifier for a document.
 *
 * Documents are uniquely identified by their `Id`, which is accessible on the `_id` field. IDs are
 * just strings at runtime (`ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R`), but this type can be used to
 * distinguish them from other strings when type checking.
 *
 * @typeParam TableName - A string literal type of the table name (like "entities").
 */
export type Id<TableName extends TableNames | SystemTableNames> = GenericId<TableName>;

/**
 * An entity of one type, as a function returns it: `Entity<"token">` is a token, with the token's
 * `properties`.
 *
 * @typeParam Type - A string literal type of the entity type (like "token").
 */
export type Entity<Type extends EntityType = EntityType> = Doc<"entities"> & { type: Type };
"""


# ---------------------------------------------------------------------------------- the spec


def function_spec(url: str, validators: Validators | None = None) -> dict[str, Any]:
    """``npx convex function-spec``'s document: each function's identifier, kind, visibility and
    its arguments and result as Convex's validators (Convex's own kinds only)."""
    functions, http = catalogue(validators or Validators())
    entries: list[dict[str, Any]] = [
        {
            "args": expand(fn.args),
            "functionType": fn.spec.kind.capitalize(),
            "identifier": f"{fn.spec.module}.js:{fn.spec.name}",
            "returns": expand(fn.returns),
            "visibility": {"kind": fn.visibility},
        }
        for fn in functions
    ]
    entries += [{"functionType": "HttpAction", "method": s.method, "path": s.route} for s in http]
    return {"url": url, "functions": entries}


def render() -> dict[str, str]:
    """Every file ``one codegen`` writes, by name."""
    validators = Validators()
    functions, _ = catalogue(validators)
    return {API_JS: api_js(), API_DTS: api_dts(functions), DATA_MODEL: data_model(validators)}
