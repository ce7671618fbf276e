"""Full-text search with Convex's semantics: its tokenizer, its query rules, BM25, an inverted index.

**Text** is tokenized as Convex does (tantivy's ``SimpleTokenizer``, ``RemoveLongFilter(32)``,
``LowerCaser``): split on every character that is not alphanumeric, drop tokens of 32 UTF-8 bytes or
more, lowercase. A **query** has at most :data:`MAX_QUERY_TERMS` terms; documents match when they
contain any of them; the last term is a prefix, standing for (at most :data:`MAX_PREFIX_EXPANSIONS`)
indexed terms that start with it. **Relevance** is BM25 (k1 = 1.2, b = 0.75, tantivy's idf) over the
index of one organization; equal scores put the newest document first.

**The index** lives in the table. For index ``I`` of table ``T`` in organization ``O`` (keys under
``O#search#T.I``), with ``v`` the encoded value of a document's *first* filter field (``type`` for
``entities.search_entities``; ``-`` for an index without filter fields):

- a *posting* per distinct term of the document (at most :data:`MAX_INDEXED_TERMS`), written in the
  document's own transaction, so that a committed document is found by the next search and a deleted
  or renamed one is not: partition ``…#t#<term>#<v>``, sort key ``tf (descending) · length · creation
  time (newest first) · id``, so a list reads in the order of its term's BM25 contribution; the other
  filter fields' values as attributes (``f1``, ``f2``), ``h`` on the posting of the document's first
  term (it counts the document in the totals), ``tb`` = ``_posting``;
- the *dictionary* (``…#terms#<first character>``, one item per term): ``vals``, the set of first
  filter values the term has a list for, written in a document's transaction only when its term, or
  the (term, value) pair, is new to the organization (the writer reads its terms' entries first, one
  consistent BatchGetItem; ``ADD`` to a set is idempotent, so concurrent writers agree); ``df`` (how
  many documents hold the term) is the aggregator's;
- the *totals* (``…#totals``: document count ``n``, total length ``len``), the aggregator's.

``df`` and the totals are aggregates kept from the table's stream
(:mod:`ontology.data.search_aggregates`), exactly once, within about a second: BM25 reads them, so a
document's score may trail its writes by that second; whether it is found never does.

A search reads the exact terms' dictionary entries and the totals (one BatchGetItem), the prefix's
dictionary range (one Query), then each term's lists — the one list of its ``.eq`` value of the first
filter field, or every value's list, merged — a page at a time, best first, applying the other
filters to the postings as it reads them, and stops as soon as no unread posting can beat the results
it has (Fagin's threshold algorithm): the documents it fetches are bounded by the page asked for and
the terms, never by the index's size. While an organization still holds the first layout
(:mod:`ontology.data.search_legacy`) a search reads it too.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ontology.data import search_legacy as legacy
from ontology.data.indexes import SearchIndex, get_path
from ontology.data.keys import KEY_MAX, encode_value
from ontology.errors import LimitExceededError, ValidationError

__all__ = [
    "MAX_INDEXED_TERMS",
    "MAX_QUERY_TERMS",
    "MAX_RESULTS",
    "SearchTerms",
    "bm25_term",
    "idf",
    "parse_query",
    "tokenize",
]

MAX_QUERY_TERMS = 16
MAX_TERM_BYTES = 32
MAX_PREFIX_EXPANSIONS = 16
#: Distinct terms of one document that are indexed (each is an item of the document's transaction).
MAX_INDEXED_TERMS = 16
MAX_QUERY_CHARS = 1024
#: A search considers at most this many documents (Convex: 1024).
MAX_RESULTS = 1024
K1 = 1.2
B = 0.75
#: The dictionary's and the totals' ``tb``.
SEARCH_TB = "_search"
#: The postings' ``tb`` (what the stream's aggregator follows).
POSTING_TB = "_posting"
#: The first filter value of an index without filter fields: one list per term.
NO_VALUE = "-"
TOTALS_SK = "T"

_WORD = re.compile(r"[^\W_]+")
_TF_MAX = 0xFFFF
_DL_MAX = 0xFFFFFF
_CT_MAX = 16**14 - 1


# ------------------------------------------------------------------------------------ tokenizing


def tokenize(text: str) -> list[str]:
    """Convex's tokens of ``text``, in order (duplicates kept)."""
    return [
        w.lower() for w in _WORD.findall(text) if len(w.encode("utf-8", "surrogatepass")) < MAX_TERM_BYTES
    ]


class SearchTerms:
    """A parsed query: its exact terms and its final (prefix) term."""

    __slots__ = ("exact", "prefix")

    def __init__(self, exact: tuple[str, ...], prefix: str | None) -> None:
        self.exact, self.prefix = exact, prefix

    def __repr__(self) -> str:
        return f"SearchTerms(exact={self.exact!r}, prefix={self.prefix!r})"

    def __bool__(self) -> bool:
        return self.prefix is not None


def parse_query(text: Any) -> SearchTerms:
    """A query's terms (Convex's rules); VALIDATION_ERROR beyond :data:`MAX_QUERY_TERMS` terms."""
    if not isinstance(text, str):
        raise ValidationError("search text must be a string", field="search")
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationError(f"a search query is at most {MAX_QUERY_CHARS} characters", field="search")
    tokens = tokenize(text)
    if len(tokens) > MAX_QUERY_TERMS:
        raise ValidationError(
            f"a search query has at most {MAX_QUERY_TERMS} terms (this one has {len(tokens)})",
            field="search",
            limit=MAX_QUERY_TERMS,
        )
    if not tokens:
        return SearchTerms((), None)
    return SearchTerms(tuple(dict.fromkeys(tokens[:-1])), tokens[-1])


# ----------------------------------------------------------------------------------------- BM25


def idf(n: int, df: int) -> float:
    """tantivy's (and Lucene's) inverse document frequency."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def bm25_term(tf: int, dl: int, avgdl: float) -> float:
    """One term's BM25 weight in a document, before its idf."""
    return tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / avgdl))


# -------------------------------------------------------------------------------------- the keys


def base_key(scope: str, table: str, index: str) -> str:
    return f"{scope}#search#{table}.{index}"


def list_pk(scope: str, table: str, index: str, term: str, value: str) -> str:
    """The partition of one posting list: a term's documents with one first filter value."""
    return f"{base_key(scope, table, index)}#t#{term}#{value}"


def dictionary_pk(base: str, term: str) -> str:
    """The dictionary's partition holding ``term`` (and every term or prefix with its first
    character: a prefix's terms are one range of one partition), under an index's key base."""
    return f"{base}#terms#{term[:1]}"


def terms_pk(scope: str, table: str, index: str, term: str) -> str:
    return dictionary_pk(base_key(scope, table, index), term)


def totals_of(base: str) -> tuple[str, str]:
    """The key of an index's totals item, under its key base."""
    return f"{base}#totals", TOTALS_SK


def totals_key(scope: str, table: str, index: str) -> tuple[str, str]:
    return totals_of(base_key(scope, table, index))


def parse_list_pk(pk: str) -> tuple[str, str, str] | None:
    """(the index's key base, term, first filter value) of a posting list's partition key; None for
    any other key (a term holds no ``#``)."""
    base, sep, rest = pk.partition("#t#")
    if not sep or "#search#" not in base:
        return None
    term, sep, value = rest.partition("#")
    if not sep or not term or not value:
        return None
    return base, term, value


#: The aggregator's receipts (:mod:`ontology.data.search_aggregates`).
RECEIPT_PREFIX = "platform#search#receipt#"


def _live(entry: Mapping[str, Any]) -> bool:
    """Whether a dictionary entry counts in a prefix's expansion without a look at its lists."""
    df = entry.get("df")
    return df is None or int(df) > 0


def unwatched(pk: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """Whether a change to this item can change no search's result, so that no subscription need run
    again: the totals, the aggregator's receipts, and a dictionary entry whose first filter values,
    and whether it counts in an expansion, stay the same (the aggregator's ``df``). A search reads
    those; it watches its lists and its prefix's dictionary range, where these changes fall."""
    if pk.startswith(RECEIPT_PREFIX):
        return True
    if "#search#" not in pk:
        return False
    if pk.endswith("#totals"):
        return True
    if "#terms#" not in pk or old is None or new is None:
        return False
    return set(old.get("vals") or ()) == set(new.get("vals") or ()) and _live(old) == _live(new)


def _ct_units(ct: float) -> int:
    return max(0, min(_CT_MAX, round(ct * 1000)))


def posting_sk(tf: int, dl: int, ct: float, doc_id: str) -> str:
    return f"{_TF_MAX - min(tf, _TF_MAX):04x}{min(dl, _DL_MAX):06x}{_CT_MAX - _ct_units(ct):014x}{doc_id}"


def parse_posting_sk(sk: str) -> tuple[int, int, int, str]:
    """(tf, dl, creation time in µs, doc id) of a posting's sort key."""
    return _TF_MAX - int(sk[0:4], 16), int(sk[4:10], 16), _CT_MAX - int(sk[10:24], 16), sk[24:]


def first_value(index: SearchIndex, doc: Mapping[str, Any]) -> str:
    """The encoded value of the index's first filter field in ``doc`` (its lists' partition)."""
    if not index.filter_fields:
        return NO_VALUE
    field = index.filter_fields[0]
    return encode_value(get_path(doc, field), field)


def typed(item: Mapping[str, Any]) -> dict[str, Any]:
    """An index item's attributes as DynamoDB's typed map (strings, integers, sets of strings)."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, bool) or not isinstance(value, str | int | set | frozenset):
            raise TypeError(f"{name}: {type(value).__name__} is not an index item's value")
        if isinstance(value, str):
            out[name] = {"S": value}
        elif isinstance(value, int):
            out[name] = {"N": str(value)}
        else:
            out[name] = {"SS": sorted(value)}
    return out


# ------------------------------------------------------------------------------------ the writes


class _Indexed:
    """What one document contributes to one search index."""

    __slots__ = ("dl", "lists", "postings", "terms")

    def __init__(
        self,
        dl: int,
        terms: dict[str, int],
        postings: dict[tuple[str, str], dict[str, Any]],
        lists: set[tuple[str, str]],
    ) -> None:
        self.dl, self.terms, self.postings, self.lists = dl, terms, postings, lists


def indexed(index: SearchIndex, scope: str, table: str, doc: Mapping[str, Any] | None) -> _Indexed | None:
    """The postings of a stored document (None: not in the index, its search field is no string)."""
    if doc is None:
        return None
    text = get_path(doc, index.search_field)
    if not isinstance(text, str):
        return None
    tokens = tokenize(text)
    counts = Counter(tokens)
    terms = {t: counts[t] for t in list(dict.fromkeys(tokens))[:MAX_INDEXED_TERMS]}
    dl = len(tokens)
    value = first_value(index, doc)
    others = {
        f"f{i}": encode_value(get_path(doc, f), f) for i, f in enumerate(index.filter_fields[1:], start=1)
    }
    postings: dict[tuple[str, str], dict[str, Any]] = {}
    for position, (term, tf) in enumerate(terms.items()):
        pk = list_pk(scope, table, index.name, term, value)
        sk = posting_sk(tf, dl, doc["_creationTime"], doc["_id"])
        item: dict[str, Any] = {"pk": pk, "sk": sk, "tb": POSTING_TB, **others}
        if position == 0:
            item["h"] = 1  # the document's first term counts it in the totals (n, len)
        postings[(pk, sk)] = item
    return _Indexed(dl, terms, postings, {(t, value) for t in terms})


def _same_entries(index: SearchIndex, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a document's postings are the same before and after a write: they come from its search
    field, its filter fields, its creation time and its id only."""
    return all(get_path(old, f) == get_path(new, f) for f in (index.search_field, *index.filter_fields))


class IndexWrites:
    """The search-index items a transaction writes, merged over its documents (one operation per item,
    as TransactWriteItems requires): postings put and deleted, and the dictionary entries of the
    (term, value) pairs that are new to the organization's index."""

    def __init__(self) -> None:
        self.puts: dict[tuple[str, str], dict[str, Any]] = {}
        self.deletes: set[tuple[str, str]] = set()
        #: (dictionary pk, term) → the first filter values whose lists gain their first posting of
        #: one of the transaction's documents (the document had none in that list before)
        self.needed: dict[tuple[str, str], set[str]] = {}
        #: (dictionary pk, term, value) found in the dictionary already (None: not read: every
        #: needed pair is written)
        self.known: set[tuple[str, str, str]] | None = None

    def add(self, index: SearchIndex, scope: str, table: str, old: Any, new: Any) -> None:
        """Move one document's entries from ``old`` to ``new`` (either None: inserted / deleted)."""
        if old is not None and new is not None and _same_entries(index, old, new):
            return  # a write that leaves the text and the filter fields alone (most patches) moves nothing
        before = indexed(index, scope, table, old)
        after = indexed(index, scope, table, new)
        old_p = before.postings if before else {}
        new_p = after.postings if after else {}
        for key in old_p.keys() - new_p.keys():
            self.deletes.add(key)
        for key, item in new_p.items():
            if old_p.get(key) != item:
                self.puts[key] = item
                self.deletes.discard(key)
        had = before.lists if before else set()
        if (
            old is not None
            and new is not None
            and first_value(index, old) == first_value(index, new)
            and any(get_path(old, f) != get_path(new, f) for f in index.filter_fields[1:])
        ):
            # another filter field changed (a status): its postings stay in their lists, but a
            # document indexed only in the first layout (search_legacy) has no entry naming them
            # yet, and a search filtered on the new value finds it only there. Dropped with the
            # first layout: it costs such a write a read of its terms' entries.
            had = set()
        for term, value in (after.lists if after else set()) - had:
            self.needed.setdefault((terms_pk(scope, table, index.name, term), term), set()).add(value)

    def resolve(self, read: Callable[[list[tuple[str, str]]], dict[tuple[str, str], dict[str, Any]]]) -> None:
        """Read the needed dictionary entries (``read``: a consistent BatchGetItem), so that only the
        pairs new to the index are written."""
        known: set[tuple[str, str, str]] = set()
        if self.needed:
            for (pk, sk), item in read(sorted(self.needed)).items():
                known |= {(pk, sk, value) for value in item.get("vals") or ()}
        self.known = known

    def dictionary(self) -> dict[tuple[str, str], set[str]]:
        """(dictionary pk, term) → the values to add to its entry's ``vals``."""
        out: dict[tuple[str, str], set[str]] = {}
        for (pk, term), values in self.needed.items():
            missing = {v for v in values if self.known is None or (pk, term, v) not in self.known}
            if missing:
                out[(pk, term)] = missing
        return out

    def __len__(self) -> int:
        return len(self.puts) + len(self.deletes) + len(self.dictionary())

    def operations(self, table_name: str) -> list[dict[str, Any]]:
        """TransactWriteItems operations (no conditions: the documents' own conditions guard them)."""
        ops: list[dict[str, Any]] = []
        for item in self.puts.values():
            ops.append({"Put": {"TableName": table_name, "Item": typed(item)}})
        for pk, sk in sorted(self.deletes):
            ops.append({"Delete": {"TableName": table_name, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}})
        for (pk, term), values in sorted(self.dictionary().items()):
            ops.append(
                {
                    "Update": {
                        "TableName": table_name,
                        "Key": {"pk": {"S": pk}, "sk": {"S": term}},
                        "UpdateExpression": "SET #tb = :tb ADD #vals :vals",
                        "ExpressionAttributeNames": {"#tb": "tb", "#vals": "vals"},
                        "ExpressionAttributeValues": {
                            ":tb": {"S": SEARCH_TB},
                            ":vals": {"SS": sorted(values)},
                        },
                    }
                }
            )
        return ops

    def touched(self) -> list[dict[str, Any]]:
        """Every written item's keys (for the sync protocol's write sets)."""
        out = [dict(item) for item in self.puts.values()]
        out += [{"pk": pk, "sk": sk} for pk, sk in self.deletes]
        out += [{"pk": pk, "sk": sk} for pk, sk in self.dictionary()]
        return out


# ------------------------------------------------------------------------------------- the reads


class _List:
    """One posting list (or, in the first layout, one filter combination's GSI list), read best first."""

    __slots__ = ("done", "frontier", "gsi", "keep", "pk", "pk_attr", "read", "sk_attr", "start")

    def __init__(
        self,
        key: tuple[str, str, str],
        gsi: str | None = None,
        keep: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        self.pk_attr, self.pk, self.sk_attr = key
        self.gsi, self.keep = gsi, keep
        self.start: dict[str, Any] | None = None
        self.done = False
        self.frontier: tuple[int, int, int, str] | None = None  # the last posting read
        self.read = 0

    def bound(self, avgdl: float) -> tuple[float, tuple[int, str] | None]:
        """The most an unread posting can add (before the term's idf), and the (-creation time, id)
        after which an unread posting that adds exactly that much must rank (None: no such
        guarantee)."""
        if self.done:
            return 0.0, None
        if self.frontier is None:
            return K1 + 1.0, None
        tf, dl, ct, doc_id = self.frontier
        same = bm25_term(tf, dl, avgdl)
        lower = bm25_term(tf - 1, tf - 1, avgdl) if tf > 1 else 0.0
        if lower >= same:
            return lower, None
        # later postings with this tf and length come after it: older, or as old with a larger id
        return same, (-ct, doc_id)


class _Term:
    """A query term (exact, or an expansion of the prefix) and its lists: a document is in at most one
    of them (its first filter value's), so what the term can still add is its best list's bound."""

    __slots__ = ("idf", "lists", "read", "text")

    def __init__(self, text: str, weight: float, lists: list[_List]) -> None:
        self.text, self.idf, self.lists = text, weight, lists
        self.read = 0  # postings examined in all its lists

    @property
    def done(self) -> bool:
        return all(lst.done for lst in self.lists)

    def bound(self, avgdl: float) -> tuple[float, tuple[int, str] | None]:
        bounds = [lst.bound(avgdl) for lst in self.lists if not lst.done]
        if not bounds:
            return 0.0, None
        top = max(b for b, _ in bounds)
        ties = [tie for b, tie in bounds if b >= top * (1 - 1e-12)]
        # an unread posting adding exactly ``top`` comes after its own list's tie: after the earliest
        tie = None if any(t is None for t in ties) else min(t for t in ties if t is not None)
        return self.idf * top, tie


class _Candidate:
    """A document seen in some lists: what those terms add (a lower bound of its score)."""

    __slots__ = ("ct", "id", "lower", "seen")

    def __init__(self, ct: int, doc_id: str) -> None:
        self.ct, self.id = ct, doc_id
        self.lower = 0.0
        self.seen: set[int] = set()

    def key(self) -> tuple[float, int, str]:
        return (-self.lower, -self.ct, self.id)


class Hit:
    """A result with its exact score."""

    __slots__ = ("ct", "doc", "id", "score")

    def __init__(self, score: float, doc: dict[str, Any]) -> None:
        self.score, self.doc = score, doc
        self.ct = _ct_units(doc["_creationTime"])
        self.id = doc["_id"]

    def key(self) -> tuple[float, int, str]:
        """Sorts best first: score descending, newest first, then id."""
        return (-self.score, -self.ct, self.id)

    def position(self) -> dict[str, str]:
        return {"score": repr(self.score), "ct": str(self.ct), "id": self.id}


def position_key(position: Mapping[str, str]) -> tuple[float, int, str]:
    try:
        return (-float(position["score"]), -int(position["ct"]), str(position["id"]))
    except (KeyError, ValueError, TypeError):
        raise ValidationError("Invalid cursor", field="cursor") from None


#: Postings of one term's lists examined at most (Convex: a search scans at most 1024 results).
LIST_CAP = 1024
FIRST_PAGE = 128
#: The smallest page a list is read in (a term's page is shared among its lists still unread).
MIN_PAGE = 16
#: Dictionary entries the prefix's expansion examines at most (pages of 32).
EXPANSION_PAGES = 8
#: Dictionary entries of the prefix the aggregates say no document holds any more, but that the
#: expansion checks (a list read with Limit 1) in case a document has come since: at most this many.
MAX_PROBES = 16


class _Dictionary:
    """What a search read of the dictionary: per term, its first filter values and its document
    frequency (the aggregate: None while the stream has not counted it), and the first layout's."""

    def __init__(self) -> None:
        self.vals: dict[str, set[str]] = {}
        self.df: dict[str, int | None] = {}
        self.legacy_df: dict[str, int] = {}

    def note(self, term: str, entry: Mapping[str, Any]) -> None:
        self.vals[term] = set(entry.get("vals") or ())
        df = entry.get("df")
        self.df[term] = int(df) if df is not None else None

    def frequency(self, term: str) -> int:
        return max(0, self.df.get(term) or 0) + self.legacy_df.get(term, 0)


class Searcher:
    """One search over one index in one organization (see the module's docstring).

    The lists are read without fetching documents ("no random access"): each posting tells what its
    term adds to its document's score, so every document seen has a lower bound (what the terms it was
    seen in add) and an upper bound (plus the most each other unfinished term could still add). The
    top ``m`` are settled when the ``m``-th lower bound is at least every other document's upper
    bound and more than any document not yet seen could reach; only those ``m`` documents are fetched,
    and ranked by their exact scores.
    """

    def __init__(
        self,
        *,
        store: Any,
        index: SearchIndex,
        scope: str,
        table: str,
        terms: SearchTerms,
        filters: Mapping[str, Any],
        load: Callable[[list[str]], dict[str, dict[str, Any]]],
        record_range: Callable[[str, str, str, str, str], Any],
        record_point: Callable[[str, str], Any] = lambda pk, sk: None,
    ) -> None:
        self.store, self.index, self.scope, self.table = store, index, scope, table
        self.terms, self.filters = terms, dict(filters)
        self.load, self.record_range, self.record_point = load, record_range, record_point
        self.weights: dict[str, float] = {}
        self.avgdl = 1.0
        self.lists: list[_Term] = []
        self.candidates: dict[str, _Candidate] = {}
        self.exact: dict[str, Hit | None] = {}
        self._prepared = False

    # -- the dictionary, the totals and the terms' lists

    def _value(self) -> str | None:
        """The first filter field's encoded ``.eq`` value (None: the search reads every value's list)."""
        fields = self.index.filter_fields
        if not fields or fields[0] not in self.filters:
            return None
        return encode_value(self.filters[fields[0]], fields[0])

    def _posting_filter(self) -> Callable[[Mapping[str, Any]], bool] | None:
        """The other filter fields' ``.eq``, applied to postings as they are read."""
        wanted = {
            f"f{i}": encode_value(self.filters[f], f)
            for i, f in enumerate(self.index.filter_fields[1:], start=1)
            if f in self.filters
        }
        if not wanted:
            return None
        return lambda item: all(item.get(a) == v for a, v in wanted.items())

    def prepare(self) -> None:
        index, scope, table = self.index, self.scope, self.table
        exact = list(self.terms.exact)
        totals = totals_key(scope, table, index.name)
        keys = [(terms_pk(scope, table, index.name, t), t) for t in exact] + [totals]
        old_dict = legacy.dict_pk(scope, table, index.name)
        if not legacy.gone():  # the first layout's entries too, and whether it is gone yet
            keys += [legacy.DROPPED] + [(old_dict, t) for t in exact]
        found = self.store.batch_get_items(keys)
        first_layout = not legacy.gone() and not legacy.note(found.get(legacy.DROPPED))
        dictionary = _Dictionary()
        for t in exact:
            key = (terms_pk(scope, table, index.name, t), t)
            dictionary.note(t, found.get(key, {}))
            self.record_point(*key)  # a new first filter value of the term adds a list
            old = int((found.get((old_dict, t)) or {}).get("df", 0)) if first_layout else 0
            if old > 0:
                dictionary.legacy_df[t] = old
        chosen = list(exact)
        if self.terms.prefix is not None:
            expanded = self._expand(dictionary, self.terms.prefix, first_layout)
            chosen += [t for t in expanded if t not in chosen]
        n, length = (int((found.get(totals) or {}).get(a, 0)) for a in ("n", "len"))
        if dictionary.legacy_df:  # the organization's index still holds the first layout
            shards = self.store.batch_get_items(legacy.stats_keys(scope, table, index.name))
            n += sum(int(s.get("n", 0)) for s in shards.values())
            length += sum(int(s.get("len", 0)) for s in shards.values())
        self.avgdl = max(length / n, 1e-9) if n > 0 and length > 0 else 1.0
        for term in chosen:
            # a df the stream has not counted yet is at least the documents read here
            df = max(dictionary.frequency(term), 1)
            weight = idf(max(n, df), df)
            self.weights[term] = weight
            self.lists.append(_Term(term, weight, self._lists(dictionary, term)))

    def _lists(self, dictionary: _Dictionary, term: str) -> list[_List]:
        index, scope, table = self.index, self.scope, self.table
        value = self._value()
        values = sorted(dictionary.vals.get(term, set()))
        if value is not None:
            values = [value] if value in values else []
        keep = self._posting_filter()
        lists = [_List(("pk", list_pk(scope, table, index.name, term, v), "sk"), keep=keep) for v in values]
        if dictionary.legacy_df.get(term, 0) > 0:
            pk = legacy.list_pk(scope, table, index.name, term)
            mask = legacy.mask_of(index, self.filters)
            if mask:
                fields = legacy.mask_fields(index, mask)
                gpk = legacy.filter_key(pk, mask, [self.filters[f] for f in fields], fields)
                lists.append(_List((f"g{mask}pk", gpk, f"g{mask}sk"), gsi=f"gsi{mask}"))
            else:
                lists.append(_List(("pk", pk, "sk")))
        return lists

    def _expand(self, dictionary: _Dictionary, prefix: str, first_layout: bool) -> list[str]:
        """Up to MAX_PREFIX_EXPANSIONS indexed terms starting with ``prefix``, first in term order."""
        live = self._expand_present(dictionary, prefix)
        old = self._expand_legacy(dictionary, prefix) if first_layout else []
        return sorted(set(live) | set(old))[:MAX_PREFIX_EXPANSIONS]

    def _dictionary_page(
        self, pk: str, prefix: str, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        items, lek, _ = self.store.query(
            index=None,
            pk_attr="pk",
            pk=pk,
            sk_attr="sk",
            sk_condition=("begins_with", prefix),
            forward=True,
            limit=32,
            start_key=start,
            consistent=True,
        )
        return items, lek

    def _expand_present(self, dictionary: _Dictionary, prefix: str) -> list[str]:
        """The present layout's terms of the prefix that hold a document. A term counts unless the
        aggregate says none holds it any more (``df`` 0): then its lists are checked, as a document
        may have come since (at most MAX_PROBES of them)."""
        pk = terms_pk(self.scope, self.table, self.index.name, prefix)
        out: list[str] = []
        probes = 0
        start: dict[str, Any] | None = None
        last = prefix
        for _ in range(EXPANSION_PAGES):  # terms no document holds any more are skipped
            items, start = self._dictionary_page(pk, prefix, start)
            for entry in items:
                term = last = entry["sk"]
                dictionary.note(term, entry)
                df = dictionary.df[term]
                if df is None or df > 0:
                    out.append(term)
                elif probes < MAX_PROBES:
                    probes += 1
                    if self._holds(dictionary, term):
                        out.append(term)
                if len(out) >= MAX_PREFIX_EXPANSIONS:
                    self.record_range("pk", pk, "sk", prefix, last)
                    return out
            if not start:
                break
        self.record_range("pk", pk, "sk", prefix, last if start else prefix + KEY_MAX)
        return out

    def _holds(self, dictionary: _Dictionary, term: str) -> bool:
        """Whether one of the term's lists holds a posting (read with Limit 1, and watched)."""
        for v in sorted(dictionary.vals.get(term, set())):
            pk = list_pk(self.scope, self.table, self.index.name, term, v)
            items, _, _ = self.store.query(
                index=None,
                pk_attr="pk",
                pk=pk,
                sk_attr="sk",
                sk_condition=None,
                forward=True,
                limit=1,
                start_key=None,
                consistent=True,
            )
            self.record_range("pk", pk, "sk", "", items[0]["sk"] if items else KEY_MAX)
            if items:
                return True
        return False

    def _expand_legacy(self, dictionary: _Dictionary, prefix: str) -> list[str]:
        """The first layout's terms of the prefix (its ``df`` is exact: kept in the transactions)."""
        pk = legacy.dict_pk(self.scope, self.table, self.index.name)
        out: list[str] = []
        start: dict[str, Any] | None = None
        last = prefix
        for _ in range(EXPANSION_PAGES):
            items, start = self._dictionary_page(pk, prefix, start)
            for entry in items:
                last = entry["sk"]
                if int(entry.get("df", 0)) > 0:
                    dictionary.legacy_df[last] = int(entry["df"])
                    out.append(last)
                    if len(out) >= MAX_PREFIX_EXPANSIONS:
                        break
            if not start or len(out) >= MAX_PREFIX_EXPANSIONS:
                break
        if out:  # an organization whose index is all of the present layout watches nothing here
            done = not start and len(out) < MAX_PREFIX_EXPANSIONS
            self.record_range("pk", pk, "sk", prefix, prefix + KEY_MAX if done else last)
        return out

    # -- scoring

    def score(self, doc: Mapping[str, Any]) -> float | None:
        """The document's BM25 score for this query (None: it does not match, or no longer)."""
        text = get_path(doc, self.index.search_field)
        if not isinstance(text, str):
            return None
        for f, v in self.filters.items():
            if encode_value(get_path(doc, f)) != encode_value(v):
                return None
        tokens = tokenize(text)
        counts = Counter(tokens)
        dl = len(tokens)
        indexed_terms = set(list(counts)[:MAX_INDEXED_TERMS])  # Counter keeps first-seen order
        total, matched = 0.0, False
        for term, weight in self.weights.items():
            tf = counts.get(term, 0) if term in indexed_terms else 0
            if tf:
                matched = True
                total += weight * bm25_term(tf, dl, self.avgdl)
        return total if matched else None

    # -- the search

    def top(
        self,
        need: int,
        *,
        after: tuple[float, int, str] | None = None,
        keep: Callable[[dict[str, Any]], bool] | None = None,
        extra: Iterable[dict[str, Any]] = (),
        shadowed: set[str] | frozenset[str] = frozenset(),
    ) -> tuple[list[Hit], bool]:
        """The best ``need`` matches ranked after ``after`` (a :meth:`Hit.key`) that ``keep`` accepts,
        and whether none follow them.

        ``extra``: documents to rank besides the stored ones (a mutation's own writes); ``shadowed``:
        ids whose stored versions do not count (written by the mutation)."""
        if not self._prepared:
            self.prepare()
            self._prepared = True
        pool: list[Hit] = []
        for doc in extra:
            s = self.score(doc)
            if s is not None:
                pool.append(Hit(s, doc))
        m = need
        while True:
            ids, complete = self._settle(m, shadowed)
            missing = [i for i in ids if i not in self.exact]
            docs = self.load(missing) if missing else {}
            for doc_id in missing:
                stored = docs.get(doc_id)
                s = self.score(stored) if stored is not None else None
                self.exact[doc_id] = Hit(s, stored) if s is not None and stored is not None else None
            ranked = sorted(
                (h for h in (*(self.exact.get(i) for i in ids), *pool) if h is not None), key=Hit.key
            )
            hits = [h for h in ranked if (after is None or h.key() > after) and (keep is None or keep(h.doc))]
            if len(hits) >= need:
                return hits[:need], len(hits) == need and complete
            if complete:
                return hits, True
            if self._capped():
                raise LimitExceededError(
                    f"a search reads at most {LIST_CAP} entries of each term's lists, which did not hold "
                    f"{need} results here; use rarer terms or filters, or take fewer",
                    limit=LIST_CAP,
                )
            if m >= max(need, MAX_RESULTS):
                return hits, False
            m = min(m * 2, max(need, MAX_RESULTS))

    def _capped(self) -> bool:
        return any(not t.done and t.read >= LIST_CAP for t in self.lists)

    def _settle(self, m: int, shadowed: set[str] | frozenset[str]) -> tuple[list[str], bool]:
        """The ids of the best ``m`` stored matches, and whether there are no others."""
        # a term's pages of 128, 256, 512, shared among its lists not yet read to their end: at most
        # four rounds of reads reach its cap
        page = max(FIRST_PAGE, min(2 * m, LIST_CAP))
        while True:
            ranked = sorted(self.candidates.values(), key=_Candidate.key)
            if self._settled(ranked, m):
                break
            live = [t for t in self.lists if not t.done and t.read < LIST_CAP]
            if not live:
                break  # a term is capped: the best of what was read (Convex's bound, too)
            for position, term in enumerate(self.lists):
                if term not in live:
                    continue
                unread = [lst for lst in term.lists if not lst.done]
                share = max(MIN_PAGE, page // len(unread))
                for lst in unread:
                    room = LIST_CAP - term.read
                    if room <= 0:
                        break
                    self._read(position, term, lst, min(share, room), shadowed)
            page = min(page * 2, LIST_CAP)
        ranked = sorted(self.candidates.values(), key=_Candidate.key)
        complete = len(ranked) <= m and all(t.done for t in self.lists)
        return [c.id for c in ranked[:m]], complete

    def _settled(self, ranked: list[_Candidate], m: int) -> bool:
        if len(ranked) < m:
            return all(t.done for t in self.lists)
        bounds = [t.bound(self.avgdl) for t in self.lists]
        kth = ranked[m - 1]
        floor = kth.lower
        eps = 1e-9 * max(1.0, floor)
        # documents not seen in any list
        unseen = sum(b for b, _ in bounds)
        if unseen > floor + eps:
            return False
        if unseen >= floor - eps:
            ties = [tie for b, tie in bounds if b > 0]
            if any(t is None for t in ties):
                return False
            # one reaching every bound comes after each term's last read posting, so after the latest
            if ties and (-kth.ct, kth.id) > max(t for t in ties if t is not None):
                return False
        # documents seen, outside the top m
        for c in ranked[m:]:
            upper = c.lower + sum(b for i, (b, _) in enumerate(bounds) if i not in c.seen)
            if upper > floor + eps or (upper >= floor - eps and (-c.ct, c.id) < (-kth.ct, kth.id)):
                return False
        return True

    def _read(
        self, position: int, term: _Term, lst: _List, page: int, shadowed: set[str] | frozenset[str]
    ) -> None:
        items, lek, _ = self.store.query(
            index=lst.gsi,
            pk_attr=lst.pk_attr,
            pk=lst.pk,
            sk_attr=lst.sk_attr,
            sk_condition=None,
            forward=True,
            limit=page,
            start_key=lst.start,
            consistent=lst.gsi is None,
        )
        for item in items:
            tf, dl, ct, doc_id = lst.frontier = parse_posting_sk(item[lst.sk_attr])
            lst.read += 1
            term.read += 1
            if doc_id in shadowed or (lst.keep is not None and not lst.keep(item)):
                continue
            c = self.candidates.get(doc_id)
            if c is None:
                c = self.candidates[doc_id] = _Candidate(ct, doc_id)
            if position not in c.seen:
                c.seen.add(position)
                c.lower += term.idf * bm25_term(tf, dl, self.avgdl)
        lst.start = lek
        if not lek:
            lst.done = True
        # what a subscription watches: the list from its start to the last posting read (all of it
        # once read to the end)
        last = items[-1][lst.sk_attr] if items else KEY_MAX
        self.record_range(lst.pk_attr, lst.pk, lst.sk_attr, "", KEY_MAX if lst.done else last)


def bulk_items(
    index: SearchIndex, scope: str, table: str, docs: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every index item for stored documents written outside transactions and outside the stream's
    view (bulk loads): their postings, the terms' dictionary entries with their final ``df``, and the
    totals."""
    items: list[dict[str, Any]] = []
    df: Counter[str] = Counter()
    vals: dict[str, set[str]] = {}
    n = length = 0
    for doc in docs:
        entry = indexed(index, scope, table, doc)
        if entry is None:
            continue
        items.extend(entry.postings.values())
        df.update(entry.terms.keys())
        for term, value in entry.lists:
            vals.setdefault(term, set()).add(value)
        n += 1
        length += entry.dl
    items += [
        {"pk": terms_pk(scope, table, index.name, t), "sk": t, "tb": SEARCH_TB, "vals": vals[t], "df": c}
        for t, c in df.items()
    ]
    if n:
        pk, sk = totals_key(scope, table, index.name)
        items.append({"pk": pk, "sk": sk, "tb": SEARCH_TB, "n": n, "len": length})
    return items
