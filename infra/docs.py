"""Generates the reference tables in ``docs/`` (function catalogue, access patterns, error codes) from
the declarations.

``python -m infra.docs`` rewrites the marked sections of each document; ``--check`` exits 1 when one is
out of date (the test suite runs the same check).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from typing import Any

from infra import ROOT
from ontology.data.fields import MAX_JSON_BYTES
from ontology.data.indexes import CREATION_TIME, Index, SearchIndex
from ontology.data.schema import TABLES
from ontology.errors import CODES

DOCS = ROOT / "docs"


def _example(table: str, idx: Index) -> str:
    if isinstance(idx, SearchIndex):
        search = f'q.search("{idx.search_field}", "ada").eq("type", "creator")'
        return f'`.with_search_index("{idx.name}", lambda q: {search})`'
    if not idx.fields:
        return f'`db.query("{table}").order("desc")`'
    eqs = "".join(f'.eq("{f}", …)' for f in idx.fields[: max(idx.partition, 1)])
    return f'`.with_index("{idx.name}", lambda q: q{eqs})`'


def _key_condition(table: str, idx: Index) -> str:
    scope = "platform" if TABLES[table].scope == "platform" else "<org>"
    if isinstance(idx, SearchIndex):
        base = f"{scope}#search#{table}.{idx.name}"
        first = f"<{idx.filter_fields[0]}>" if idx.filter_fields else "-"
        others = ", ".join(f"`f{i}`: {f}" for i, f in enumerate(idx.filter_fields[1:], start=1))
        filtered = f"; {others} on each posting (filtered as read)" if others else ""
        return (
            f"per term and {idx.filter_fields[0] if idx.filter_fields else 'index'}: "
            f"pk = `{base}#t#<term>#{first}`, sk = `<tf desc><length><newest first><_id>`{filtered}; "
            f"dictionary `{base}#terms#<first letter>` (sk `<term>`), totals `{base}#totals`"
        )
    if idx.served_by:
        extra = ", ".join(idx.fields[len(TABLES[table].index(idx.served_by).fields) :])
        return f"`{idx.served_by}`'s range, then a filter on {extra} (eq on every field required)"
    if idx.merges:
        merged = TABLES[table].index(idx.merges)
        field = merged.fields[len(idx.fields)]
        return f"`{idx.merges}`'s partition, one stretch per {field} (skipping from one to the next), merged"
    part = "".join(f"<{f}>" for f in idx.fields[: idx.partition])
    shard = "#~<shard>" if idx.shards > 1 else ""
    pk = f"`{scope}#{table}#{idx.name}" + (f"#{part}" if part else "") + f"{shard}`"
    rest = [*idx.fields[idx.partition :], CREATION_TIME, "_id"]
    sk = "".join(f"<{f}>" for f in rest)
    notes = []
    if idx.shards > 1:
        notes.append(f"{idx.shards} shards by id, read merged")
    for value, n in idx.value_shards:
        first = idx.fields[0]
        notes.append(f"{first} {value}: `…#{value}#~<shard>`, {n} shards by id, read merged")
    if idx.sparse:
        notes.append("sparse: only documents with the partition fields set")
    more = f"; {'; '.join(notes)}" if notes else ""
    return f"g{idx.slot}pk = {pk}; g{idx.slot}sk = `{sk}` (begins_with / BETWEEN){more}"


def access_patterns() -> str:
    lines = [
        "| table | index | fields | key condition | GSI | example |",
        "|---|---|---|---|---|---|",
    ]
    for t in TABLES.values():
        for idx in (*t.indexes, *t.virtual_indexes, *t.search_indexes):
            fields = ", ".join(idx.fields) or "—"
            if isinstance(idx, SearchIndex):
                fields = f"search {idx.search_field}; filters {', '.join(idx.filter_fields) or '—'}"
                gsi = "table (no GSI)"
            elif idx.served_by or idx.merges:
                gsi = "none"
            else:
                gsi = f"`{idx.gsi_name}`"
            if idx.partition:
                fields += f" (eq on {', '.join(idx.fields[: idx.partition])} required)"
            lines.append(
                f"| {t.name} | `{idx.name}` | {fields} | {_key_condition(t.name, idx)} | {gsi} "
                f"| {_example(t.name, idx)} |"
            )
    return "\n".join(lines)


def error_codes() -> str:
    from ontology import errors

    lines = ["| code | HTTP status | raised as |", "|---|---|---|"]
    # the catalogue's own classes: a module's private subclass (a migration's lease) is not a code
    catalogue = [c for c in errors._all_error_classes() if c.__module__ == errors.__name__]
    classes = sorted(catalogue, key=lambda c: (c.status, c.code, c.__name__))
    for cls in classes:
        if cls.code in CODES:
            lines.append(f"| `{cls.code}` | {cls.status} | `{cls.__name__}` |")
    return "\n".join(lines)


#: UTF-8 bytes a character may take in most scripts (Latin takes 1, most others 2 or 3).
BYTES_PER_CHAR = 3
#: A string argument this long or longer is one that may not fit over the socket.
LONG_TEXT = 1000
SOCKET_NOTE = (
    "Its arguments may be more than a socket message carries: [call it over HTTP](#over-the-socket-32-kb)."
)


def _large_arguments(
    schema: dict[str, Any], defs: dict[str, Any], name: str = ""
) -> Iterator[tuple[str, str, int]]:
    """The arguments of a JSON schema that may be large: (name, how large, most bytes)."""
    if "$ref" in schema:
        yield from _large_arguments(defs[schema["$ref"].split("/")[-1]], defs, name)
        return
    branches = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if branches:
        found = [list(_large_arguments(b, defs, name)) for b in branches]
        yield from max(found, key=lambda f: sum(size for _, _, size in f))
        return
    kind = schema.get("type")
    if kind == "string" and schema.get("maxLength", 0) >= LONG_TEXT:
        yield name, f"{schema['maxLength']:,} characters", schema["maxLength"] * BYTES_PER_CHAR
    elif kind == "array":
        most = schema.get("maxItems")
        for _, what, size in _large_arguments(schema.get("items", {}), defs, name):
            yield name, f"up to {most} of {what}" if most else f"a list of {what}", size * (most or 1000)
    elif kind == "object" or "properties" in schema:
        for key, sub in (schema.get("properties") or {}).items():
            yield from _large_arguments(sub, defs, f"{name}.{key}" if name else key)
        if schema.get("additionalProperties") not in (None, False):
            yield name, "a JSON object of up to 64 KB", MAX_JSON_BYTES
    elif kind is None and name and not schema.get("enum") and "const" not in schema:
        yield name, "a JSON value of up to 64 KB", MAX_JSON_BYTES


def socket_oversized() -> dict[str, list[tuple[str, str, int]]]:
    """Public functions whose arguments may be more than one WebSocket frame carries (at
    BYTES_PER_CHAR bytes a character), and those arguments."""
    from ontology.runtime.registry import load_all
    from ontology.sync.limits import MAX_QUERY_SET_BYTES

    out = {}
    for path, fn in load_all().items():
        if fn.spec.internal or fn.spec.system:
            continue
        schema = fn.spec.args.model_json_schema()
        large = list(_large_arguments(schema, schema.get("$defs", {})))
        if sum(size for _, _, size in large) > MAX_QUERY_SET_BYTES:
            out[path] = large
    return out


def socket_limits() -> str:
    from ontology.runtime.registry import load_all

    functions = load_all()
    lines = ["| function | kind | arguments that may not fit in 32 KB |", "|---|---|---|"]
    for path, large in socket_oversized().items():
        what = ", ".join(f"`{name}` ({how})" for name, how, _ in large)
        lines.append(f"| `{path}` | {functions[path].spec.kind} | {what} |")
    return "\n".join(lines)


def function_catalogue() -> str:
    from ontology.runtime.registry import load_all

    oversized = socket_oversized()
    lines = ["| function | kind | route | who may call | what it does |", "|---|---|---|---|---|"]
    for path, fn in load_all().items():
        spec = fn.spec
        if spec.system:  # the platform's own tools': not part of its API
            continue
        route = (
            "internal"
            if spec.route is None
            else ("any unknown route" if spec.route == "$default" else f"`{spec.method} {spec.route}`")
        )
        what = spec.description.replace("``", "`")
        if path in oversized:
            what += f" {SOCKET_NOTE}"
        lines.append(f"| `{path}` | {spec.kind} | {route} | {spec.auth} | {what} |")
    return "\n".join(lines)


def reference_env() -> str:
    from infra.environment import REFERENCE_VARIABLES

    lines = [
        "| variable | what it does | in AWS | the local stack |",
        "|---|---|---|---|",
    ]
    for v in REFERENCE_VARIABLES:
        where = (
            f"the deployment's secret, from the NoEcho parameter `{v.parameter}`"
            if v.kind == "secret"
            else f"the parameter `{v.parameter}`, given to functions as `{v.platform}`"
        )
        lines.append(f"| `{v.name}` | {v.what} | {where} | {v.local} |")
    return "\n".join(lines)


def visibility_table() -> str:
    """docs/auth.md's "who sees what": each kind of document x each role, from the rules themselves."""
    from ontology.data.visibility import ENTITY_RULES, INTERNAL_PROPERTIES, TABLE_RULES, Rule

    def without(rule: Rule, entity: bool) -> str:
        fields = [
            f.removeprefix("properties.") for f in (*(INTERNAL_PROPERTIES if entity else ()), *rule.hidden)
        ]
        return f" (without {', '.join(f'`{f}`' for f in fields)})" if fields else ""

    groups: dict[int, tuple[Rule, list[str]]] = {}
    for kind, rule in ENTITY_RULES.items():
        groups.setdefault(id(rule), (rule, []))[1].append(kind)
    rows = [
        (f"entities: {', '.join(f'`{k}`' for k in sorted(kinds))}", rule, True)
        for rule, kinds in groups.values()
    ]
    rows.sort(key=lambda r: (r[1].public_text == "nothing", r[1].member_text == "nothing", r[0]))
    rows += [(f"{name}", rule, False) for name, rule in TABLE_RULES.items()]
    lines = [
        "| document | anonymous (or another organization's member) | customer | org_user | org_owner "
        "| platform_owner |",
        "|---|---|---|---|---|---|",
    ]
    staff = "all, every field"
    for name, rule, entity in rows:
        public = rule.public_text + (without(rule, entity) if rule.public_text != "nothing" else "")
        member = rule.member_text + (without(rule, entity) if rule.member_text != "nothing" else "")
        if rule.public_text not in ("nothing", rule.member_text):
            member = f"{public}; {rule.member_text}"
        lines.append(f"| {name} | {public} | {member} | {staff} | {staff} | {staff} |")
    lines.append(
        f"| any other entity type, platform tables | nothing | nothing | {staff} | {staff} | {staff} |"
    )
    return "\n".join(lines)


#: Each document and the generated sections it holds between ``<!-- name:start -->`` and ``:end`` markers.
SECTIONS: dict[str, dict[str, Callable[[], str]]] = {
    "architecture.md": {"error-codes": error_codes},
    "auth.md": {"visibility": visibility_table},
    "data-model.md": {"access-patterns": access_patterns},
    "deploying.md": {"reference-env": reference_env},
    "functions.md": {"function-catalogue": function_catalogue, "socket-limits": socket_limits},
}


def render(document: str, text: str) -> str:
    """``text`` (the document's content) with its generated sections rebuilt."""
    for name, build in SECTIONS[document].items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start not in text or end not in text:
            raise SystemExit(f"docs/{document} lacks the markers {start} … {end}")
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{build()}\n{end}{tail}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for document in SECTIONS:
        path = DOCS / document
        current = path.read_text()
        wanted = render(document, current)
        if current == wanted:
            continue
        stale.append(document)
        if not args.check:
            path.write_text(wanted)
    if args.check and stale:
        print(f"docs/ tables are out of date ({', '.join(stale)}): run `make docs`", file=sys.stderr)
        return 1
    print(f"docs/ tables: {'updated ' + ', '.join(stale) if stale else 'up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
