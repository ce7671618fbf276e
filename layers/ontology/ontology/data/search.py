"""Full-text search with Convex's semantics: its tokenizer, its query rules, BM25, an inverted index.

**Text** is tokenized as Convex does (tantivy's ``SimpleTokenizer``, ``RemoveLongFilter(32)``,
``LowerCaser``): split on every character that is not alphanumeric, drop tokens of 32 UTF-8 bytes or
more, lowercase. A **query** has at most :data:`MAX_QUERY_TERMS` terms; documents match when they
contain any of them; the last term is a prefix, standing for (at most :data:`MAX_PREFIX_EXPANSIONS`)
indexed terms that start with it. **Relevance** is BM25 (k1 = 1.2, b = 0.75, tantivy's idf) over the
index of one organization; equal scores put the newest document first.

**The index** lives in the table, written in the document's own transaction, so a committed document
is found by the next search and a deleted or renamed one is not. For index ``I`` of table ``T`` in
organization ``O`` (keys under ``O#search#T.I``):

- a *posting* per distinct term of the document (at most :data:`MAX_INDEXED_TERMS`): partition
  ``…#t#<term>``, sort key ``tf (descending) · length · creation time (newest first) · id``, so a term's
  list reads in the order of its BM25 contribution; for each combination of the index's filter fields
  the same item carries that combination's values in the GSI of the same number (``g<mask>pk``), so a
  search with ``.eq`` filters reads only its own documents;
- the *term dictionary* (``…#dict``, one item per term with its document frequency ``df``): exact terms
  are read from it by key, the prefix term by a range;
- *statistics* in :data:`STATS_SHARDS` shards (``…#stats``; document count and total length), read in
  the same BatchGetItem, so concurrent writers rarely meet on one item.

A search reads the dictionary and the shards (one BatchGetItem, one Query for the prefix), then the
terms' lists a page at a time, best first, and stops as soon as no unread posting can beat the results
it has (Fagin's threshold algorithm): the documents it fetches are bounded by the page asked for and
the terms, never by the index's size.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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
STATS_SHARDS = 16
K1 = 1.2
B = 0.75
SEARCH_TB = "_search"

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


def _base(scope: str, table: str, index: str) -> str:
    return f"{scope}#search#{table}.{index}"


def list_pk(scope: str, table: str, index: str, term: str) -> str:
    return f"{_base(scope, table, index)}#t#{term}"


def dict_pk(scope: str, table: str, index: str) -> str:
    return f"{_base(scope, table, index)}#dict"


def stats_pk(scope: str, table: str, index: str) -> str:
    return f"{_base(scope, table, index)}#stats"


def _ct_units(ct: float) -> int:
    return max(0, min(_CT_MAX, round(ct * 1000)))


def posting_sk(tf: int, dl: int, ct: float, doc_id: str) -> str:
    return f"{_TF_MAX - min(tf, _TF_MAX):04x}{min(dl, _DL_MAX):06x}{_CT_MAX - _ct_units(ct):014x}{doc_id}"


def parse_posting_sk(sk: str) -> tuple[int, int, int, str]:
    """(tf, dl, creation time in µs, doc id) of a posting's sort key."""
    return _TF_MAX - int(sk[0:4], 16), int(sk[4:10], 16), _CT_MAX - int(sk[10:24], 16), sk[24:]


def _filter_key(pk: str, mask: int, values: Iterable[Any], fields: Iterable[str]) -> str:
    return f"{pk}#{mask}#" + "".join(encode_value(v, f) for v, f in zip(values, fields, strict=True))


def _mask_fields(index: SearchIndex, mask: int) -> tuple[str, ...]:
    return tuple(f for i, f in enumerate(index.filter_fields) if mask >> i & 1)


def _shard(doc_id: str) -> str:
    return f"{zlib.crc32(doc_id.encode()) % STATS_SHARDS:02d}"


# ------------------------------------------------------------------------------------ the writes


class _Indexed:
    """What one document contributes to one search index."""

    __slots__ = ("dl", "postings", "terms")

    def __init__(
        self, dl: int, terms: dict[str, int], postings: dict[tuple[str, str], dict[str, Any]]
    ) -> None:
        self.dl, self.terms, self.postings = dl, terms, postings


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
    postings: dict[tuple[str, str], dict[str, Any]] = {}
    filter_values = [get_path(doc, f) for f in index.filter_fields]
    for term, tf in terms.items():
        pk = list_pk(scope, table, index.name, term)
        sk = posting_sk(tf, dl, doc["_creationTime"], doc["_id"])
        item: dict[str, Any] = {"pk": pk, "sk": sk, "tb": SEARCH_TB}
        for mask in range(1, 1 << len(index.filter_fields)):
            fields = _mask_fields(index, mask)
            values = [v for i, v in enumerate(filter_values) if mask >> i & 1]
            item[f"g{mask}pk"] = _filter_key(pk, mask, values, fields)
            item[f"g{mask}sk"] = sk
        postings[(pk, sk)] = item
    return _Indexed(dl, terms, postings)


def _same_entries(index: SearchIndex, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a document's postings are the same before and after a write: they come from its search
    field, its filter fields, its creation time and its id only."""
    return all(get_path(old, f) == get_path(new, f) for f in (index.search_field, *index.filter_fields))


class IndexWrites:
    """The search-index items a transaction writes, merged over its documents (one operation per item,
    as TransactWriteItems requires)."""

    def __init__(self) -> None:
        self.puts: dict[tuple[str, str], dict[str, Any]] = {}
        self.deletes: set[tuple[str, str]] = set()
        #: (dict pk, term) → df delta
        self.df: dict[tuple[str, str], int] = {}
        #: (stats pk, shard) → [documents delta, length delta]
        self.stats: dict[tuple[str, str], list[int]] = {}

    def add(self, index: SearchIndex, scope: str, table: str, old: Any, new: Any) -> None:
        """Move one document's entries from ``old`` to ``new`` (either None: inserted / deleted)."""
        if old is not None and new is not None and _same_entries(index, old, new):
            return  # a write that leaves the text and the filter fields alone (most patches) moves nothing
        doc_id = (new or old)["_id"]
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
        old_terms = set(before.terms) if before else set()
        new_terms = set(after.terms) if after else set()
        dpk = dict_pk(scope, table, index.name)
        for term in old_terms - new_terms:
            self.df[(dpk, term)] = self.df.get((dpk, term), 0) - 1
        for term in new_terms - old_terms:
            self.df[(dpk, term)] = self.df.get((dpk, term), 0) + 1
        docs = (after is not None) - (before is not None)
        length = (after.dl if after else 0) - (before.dl if before else 0)
        if docs or length:
            entry = self.stats.setdefault((stats_pk(scope, table, index.name), _shard(doc_id)), [0, 0])
            entry[0] += docs
            entry[1] += length

    def __len__(self) -> int:
        return len(self.puts) + len(self.deletes) + sum(1 for d in self.df.values() if d) + len(self.stats)

    def operations(
        self, table_name: str, serialize: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """TransactWriteItems operations (no conditions: the documents' own conditions guard them)."""
        ops: list[dict[str, Any]] = []
        for item in self.puts.values():
            ops.append({"Put": {"TableName": table_name, "Item": serialize(item)}})
        for pk, sk in sorted(self.deletes):
            ops.append({"Delete": {"TableName": table_name, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}})
        for (pk, term), delta in self.df.items():
            if delta:
                ops.append(_add(table_name, pk, term, {"df": delta}))
        for (pk, shard), (docs, length) in self.stats.items():
            ops.append(_add(table_name, pk, shard, {"n": docs, "len": length}))
        return ops

    def touched(self) -> list[dict[str, Any]]:
        """Every written item's keys (for the sync protocol's write sets)."""
        out = [dict(item) for item in self.puts.values()]
        out += [{"pk": pk, "sk": sk} for pk, sk in self.deletes]
        out += [{"pk": pk, "sk": sk} for (pk, sk), d in self.df.items() if d]
        out += [{"pk": pk, "sk": sk} for pk, sk in self.stats]
        return out


def _add(table_name: str, pk: str, sk: str, deltas: dict[str, int]) -> dict[str, Any]:
    names = {"#tb": "tb", **{f"#{k}": k for k in deltas}}
    values = {":tb": {"S": SEARCH_TB}, **{f":{k}": {"N": str(v)} for k, v in deltas.items()}}
    adds = ", ".join(f"#{k} :{k}" for k in deltas)
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": f"SET #tb = :tb ADD {adds}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


# ------------------------------------------------------------------------------------- the reads


class _List:
    """One term's posting list (restricted to the search's filters), read best first."""

    __slots__ = ("done", "frontier", "gsi", "idf", "pk", "pk_attr", "read", "sk_attr", "start", "term")

    def __init__(self, term: str, weight: float, gsi: str | None, key: tuple[str, str, str]) -> None:
        self.term, self.idf, self.gsi = term, weight, gsi
        self.pk_attr, self.pk, self.sk_attr = key
        self.start: dict[str, Any] | None = None
        self.done = False
        self.frontier: tuple[int, int, int, str] | None = None  # the last posting read
        self.read = 0

    def bound(self, avgdl: float) -> tuple[float, tuple[int, str] | None]:
        """The most an unread posting can add, and the (-creation time, id) after which an unread
        posting that adds exactly that much must rank (None: no such guarantee)."""
        if self.done:
            return 0.0, None
        if self.frontier is None:
            return self.idf * (K1 + 1.0), None
        tf, dl, ct, doc_id = self.frontier
        same = bm25_term(tf, dl, avgdl)
        lower = bm25_term(tf - 1, tf - 1, avgdl) if tf > 1 else 0.0
        if lower >= same:
            return self.idf * lower, None
        # later postings with this tf and length come after it: older, or as old with a larger id
        return self.idf * same, (-ct, doc_id)


class _Candidate:
    """A document seen in some lists: what those lists add (a lower bound of its score)."""

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


#: Postings read from one term's list at most (Convex: a search scans at most 1024 results).
LIST_CAP = 1024
FIRST_PAGE = 128


class Searcher:
    """One search over one index in one organization (see the module's docstring).

    The lists are read without fetching documents ("no random access"): each posting tells what its
    term adds to its document's score, so every document seen has a lower bound (what the lists it was
    seen in add) and an upper bound (plus the most each other unfinished list could still add). The top
    ``m`` are settled when the ``m``-th lower bound is at least every other document's upper bound and
    more than any document not yet seen could reach; only those ``m`` documents are fetched, and
    ranked by their exact scores.
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
    ) -> None:
        self.store, self.index, self.scope, self.table = store, index, scope, table
        self.terms, self.filters = terms, dict(filters)
        self.load, self.record_range = load, record_range
        self.weights: dict[str, float] = {}
        self.avgdl = 1.0
        self.lists: list[_List] = []
        self.candidates: dict[str, _Candidate] = {}
        self.exact: dict[str, Hit | None] = {}
        self._prepared = False

    # -- statistics and terms

    def prepare(self) -> None:
        index, scope, table = self.index, self.scope, self.table
        dpk, spk = dict_pk(scope, table, index.name), stats_pk(scope, table, index.name)
        shards = [(spk, f"{s:02d}") for s in range(STATS_SHARDS)]
        found = self.store.batch_get_items([(dpk, t) for t in self.terms.exact] + shards)
        docs = sum(int(found.get(k, {}).get("n", 0)) for k in shards)
        length = sum(int(found.get(k, {}).get("len", 0)) for k in shards)
        if docs <= 0:
            return
        self.avgdl = max(length / docs, 1e-9)
        df: dict[str, int] = {}
        for t in self.terms.exact:
            n = int(found.get((dpk, t), {}).get("df", 0))
            if n > 0:
                df[t] = n
        if self.terms.prefix is not None:
            df.update(self._expand(dpk, self.terms.prefix))
        self.weights = {t: idf(docs, n) for t, n in df.items()}
        mask = 0
        for i, f in enumerate(index.filter_fields):
            if f in self.filters:
                mask |= 1 << i
        fields = _mask_fields(index, mask)
        for term, weight in self.weights.items():
            pk = list_pk(scope, table, index.name, term)
            if mask:
                gpk = _filter_key(pk, mask, [self.filters[f] for f in fields], fields)
                self.lists.append(_List(term, weight, f"gsi{mask}", (f"g{mask}pk", gpk, f"g{mask}sk")))
            else:
                self.lists.append(_List(term, weight, None, ("pk", pk, "sk")))

    def _expand(self, dpk: str, prefix: str) -> dict[str, int]:
        """Up to MAX_PREFIX_EXPANSIONS indexed terms starting with ``prefix`` (first in term order)."""
        out: dict[str, int] = {}
        start: dict[str, Any] | None = None
        last = prefix
        for _ in range(8):  # terms no document holds any more are skipped; a few pages at most
            items, lek, _ = self.store.query(
                index=None,
                pk_attr="pk",
                pk=dpk,
                sk_attr="sk",
                sk_condition=("begins_with", prefix),
                forward=True,
                limit=32,
                start_key=start,
                consistent=True,
            )
            for item in items:
                last = item["sk"]
                if int(item.get("df", 0)) > 0:
                    out[item["sk"]] = int(item["df"])
                    if len(out) >= MAX_PREFIX_EXPANSIONS:
                        self.record_range("pk", dpk, "sk", prefix, last)
                        return out
            if not lek:
                start = None
                break
            start = lek
        self.record_range("pk", dpk, "sk", prefix, last if start else prefix + KEY_MAX)
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
                    f"a search reads at most {LIST_CAP} entries of each term's list, which did not hold "
                    f"{need} results here; use rarer terms or filters, or take fewer",
                    limit=LIST_CAP,
                )
            if m >= max(need, MAX_RESULTS):
                return hits, False
            m = min(m * 2, max(need, MAX_RESULTS))

    def _capped(self) -> bool:
        return any(not lst.done and lst.read >= LIST_CAP for lst in self.lists)

    def _settle(self, m: int, shadowed: set[str] | frozenset[str]) -> tuple[list[str], bool]:
        """The ids of the best ``m`` stored matches, and whether there are no others."""
        # pages of 128, 256, 512: at most four reads of a list reach its cap
        page = max(FIRST_PAGE, min(2 * m, LIST_CAP))
        while True:
            ranked = sorted(self.candidates.values(), key=_Candidate.key)
            if self._settled(ranked, m):
                break
            live = [lst for lst in self.lists if not lst.done and lst.read < LIST_CAP]
            if not live:
                break  # a list is capped: the best of what was read (Convex's bound, too)
            for lst in live:
                self._read(lst, min(page, LIST_CAP - lst.read), shadowed)
            page = min(page * 2, LIST_CAP)
        ranked = sorted(self.candidates.values(), key=_Candidate.key)
        complete = len(ranked) <= m and all(lst.done for lst in self.lists)
        return [c.id for c in ranked[:m]], complete

    def _settled(self, ranked: list[_Candidate], m: int) -> bool:
        if len(ranked) < m:
            return all(lst.done for lst in self.lists)
        bounds = [lst.bound(self.avgdl) for lst in self.lists]
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
            # one reaching every bound comes after each list's last read posting, so after the latest
            if ties and (-kth.ct, kth.id) > max(t for t in ties if t is not None):
                return False
        # documents seen, outside the top m
        for c in ranked[m:]:
            upper = c.lower + sum(b for i, (b, _) in enumerate(bounds) if i not in c.seen)
            if upper > floor + eps or (upper >= floor - eps and (-c.ct, c.id) < (-kth.ct, kth.id)):
                return False
        return True

    def _read(self, lst: _List, page: int, shadowed: set[str] | frozenset[str]) -> None:
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
        position = self.lists.index(lst)
        for item in items:
            tf, dl, ct, doc_id = lst.frontier = parse_posting_sk(item[lst.sk_attr])
            lst.read += 1
            if doc_id in shadowed:
                continue
            c = self.candidates.get(doc_id)
            if c is None:
                c = self.candidates[doc_id] = _Candidate(ct, doc_id)
            if position not in c.seen:
                c.seen.add(position)
                c.lower += lst.idf * bm25_term(tf, dl, self.avgdl)
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
    """Every index item for stored documents written outside transactions (bulk loads, a rebuild):
    their postings, the terms' dictionary entries and the statistics shards, as final values."""
    items: list[dict[str, Any]] = []
    df: Counter[str] = Counter()
    shards: dict[str, list[int]] = {}
    for doc in docs:
        entry = indexed(index, scope, table, doc)
        if entry is None:
            continue
        items.extend(entry.postings.values())
        df.update(entry.terms.keys())
        shard = shards.setdefault(_shard(doc["_id"]), [0, 0])
        shard[0] += 1
        shard[1] += entry.dl
    dpk, spk = dict_pk(scope, table, index.name), stats_pk(scope, table, index.name)
    items += [{"pk": dpk, "sk": term, "tb": SEARCH_TB, "df": n} for term, n in df.items()]
    items += [
        {"pk": spk, "sk": s, "tb": SEARCH_TB, "n": n, "len": length} for s, (n, length) in shards.items()
    ]
    return items
