"""Full-text search: Convex's tokenizer and query rules, BM25 ranking against an independent engine
(tantivy, Convex's own), consistency inside and across mutations, filters, tenancy, bounds."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
import tantivy

from ontology import LimitExceededError, ValidationError, run_mutation, run_query
from ontology.data.search import (
    MAX_QUERY_TERMS,
    parse_query,
    tokenize,
)
from tests.data.helpers import ORG, OTHER_ORG, entity, settle_search

# ------------------------------------------------------------------------------------ tokenizer

_CONVEX = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.remove_long(32))
    .filter(tantivy.Filter.lowercase())
    .build()
)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("hello hi", ["hello", "hi"]),  # Convex's documentation: split into "hello" and "hi"
        ("Hello, World!", ["hello", "world"]),  # case and punctuation ignored
        ("send request", ["send", "request"]),
        ("rock'n'roll e-mail foo_bar a.b/c", ["rock", "n", "roll", "e", "mail", "foo", "bar", "a", "b", "c"]),
        ("  tabs\tand\nnewlines  ", ["tabs", "and", "newlines"]),
        ("Crème Brûlée ÜBER", ["crème", "brûlée", "über"]),
        ("v2 3rd 100%", ["v2", "3rd", "100"]),
        ("x" * 31 + " keep", ["x" * 31, "keep"]),  # 31 bytes: kept
        ("y" * 32 + " drop", ["drop"]),  # 32 bytes or more: dropped
        ("é" * 16 + " two-byte", ["two", "byte"]),  # 16 characters, 32 bytes: dropped
        ("é" * 15, ["é" * 15]),
        ("", []),
        ("?!… — ", []),
    ],
)
def test_tokenizer_follows_convex(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens
    assert tokenize(text) == _CONVEX.analyze(text)


def test_tokenizer_agrees_with_tantivy_on_random_text() -> None:
    rng = random.Random(7)
    alphabet = "abcXYZ019 \t\n.,;:!?'\"-_/()[]éüßØ日本語€✓" + "q" * 5
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        if rng.random() < 0.2:
            text += " " + "long" * rng.randint(7, 9)
        assert tokenize(text) == _CONVEX.analyze(text), text


def test_query_terms_prefix_is_the_last_term_only() -> None:
    q = parse_query("Marathon, training PLAN")
    assert q.exact == ("marathon", "training")
    assert q.prefix == "plan"
    assert parse_query("run run fast").exact == ("run",)
    empty = parse_query(" ,, ")
    assert not empty and empty.prefix is None


def test_query_of_more_than_16_terms_is_refused() -> None:
    parse_query(" ".join(f"t{i}" for i in range(MAX_QUERY_TERMS)))
    with pytest.raises(ValidationError) as err:
        parse_query(" ".join(f"t{i}" for i in range(MAX_QUERY_TERMS + 1)))
    assert err.value.code == "VALIDATION_ERROR"
    assert "16 terms" in err.value.message
    with pytest.raises(ValidationError):
        parse_query("x" * 2000)
    with pytest.raises(ValidationError):
        parse_query(42)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- helpers


def _insert(names: list[str], org: str = ORG, kind: str = "blog_post", status: str = "draft") -> list[str]:
    ids: list[str] = []
    for start in range(0, len(names), 8):
        chunk = names[start : start + 8]
        ids += run_mutation(
            lambda db, chunk=chunk: [db.insert("entities", entity(kind, n, status=status)) for n in chunk],
            org=org,
        )
    return ids


def _search(text: str, org: str = ORG, n: int = 10, **eq: str) -> list[dict]:
    def build(q):
        q = q.search("name", text)
        for f, v in eq.items():
            q = q.eq(f, v)
        return q

    return run_query(
        lambda db: db.query("entities").with_search_index("search_entities", build).take(n), org=org
    )


def _names(docs: list[dict]) -> list[str]:
    return [d["name"] for d in docs]


# ----------------------------------------------------------------------------- matching, prefix


def test_typeahead_prefix_and_any_term(table: str) -> None:
    _insert(["rabbit", "send request", "snake", "Red Panda", "rust book"])
    assert sorted(_names(_search("r"))) == ["Red Panda", "rabbit", "rust book", "send request"]
    assert _names(_search("rab")) == ["rabbit"]
    # only the last term is a prefix: "ru" here is an exact term (no document has it), "book" matches
    assert _names(_search("ru book")) == ["rust book"]
    assert _names(_search("ru")) == ["rust book"]
    assert _search("stake") == []  # no fuzzy matching
    assert _search("?!") == []  # a query without terms matches nothing


def test_relevance_shorter_and_rarer_first_ties_newest_first(table: str) -> None:
    _insert(["alpha beta gamma delta", "alpha", "alpha beta", "zeta alpha"])
    settle_search()  # the stream's aggregates: document frequencies and totals (BM25's statistics)
    # one term: shorter names score higher; "alpha beta" and "zeta alpha" tie (length 2): newest first
    assert _names(_search("alpha")) == ["alpha", "zeta alpha", "alpha beta", "alpha beta gamma delta"]
    # a rarer term weighs more: "zeta" (1 document) beats "beta" (2)
    assert _names(_search("zeta beta"))[0] == "zeta alpha"


# ------------------------------------------------------------------------ ranking vs tantivy


def _corpus(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    vocab = [
        "marathon",
        "training",
        "plan",
        "running",
        "shoes",
        "yoga",
        "studio",
        "coach",
        "nutrition",
        "guide",
        "meal",
        "prep",
        "strength",
        "cardio",
        "weekly",
        "program",
        "beginner",
        "advanced",
        "recovery",
        "stretch",
        "mindful",
        "breath",
        "sprint",
        "trail",
        "race",
        "pace",
        "heart",
        "rate",
        "zone",
        "hill",
        "core",
        "mobility",
    ]
    vocab += [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "ro", "ti") for b in ("ba", "de", "fi", "go", "ju")]
    weights = [1 / (i + 1) for i in range(len(vocab))]  # Zipf-like: some terms common, most rare
    return [" ".join(rng.choices(vocab, weights, k=rng.randint(1, 9))).title() for _ in range(n)]


QUERIES = [
    "marathon", "training plan", "running shoes", "yoga studio", "coach", "nutrition guide", "meal prep",
    "strength cardio", "beginner program", "recovery stretch", "mindful breath", "trail race pace",
    "heart rate zone", "hill sprint", "core mobility", "weekly training", "advanced running", "marathon pa",
    "str", "run",
]  # fmt: skip


def _tantivy_top(names: list[str], query_terms: list[str], k: int) -> list[tuple[float, str]]:
    schema_builder = tantivy.SchemaBuilder()
    schema_builder.add_text_field("name", stored=True, tokenizer_name="convex")
    schema_builder.add_integer_field("i", stored=True)
    index = tantivy.Index(schema_builder.build())
    index.register_tokenizer("convex", _CONVEX)
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for i, name in enumerate(names):
        writer.add_document(tantivy.Document(name=name, i=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    query = tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, tantivy.Query.term_query(index.schema, "name", t)) for t in query_terms]
    )
    hits = searcher.search(query, k).hits
    return [(score, searcher.doc(addr)["name"][0]) for score, addr in hits]


@pytest.mark.slow
def test_ranking_agrees_with_an_independent_bm25(table: str) -> None:
    names = _corpus(400)
    _insert(names)
    settle_search()
    vocabulary = sorted({t for n in names for t in tokenize(n)})
    overlaps, tied = [], []
    for text in QUERIES:
        q = parse_query(text)
        expanded = [t for t in vocabulary if t.startswith(q.prefix)][:16]
        terms = list(dict.fromkeys([*q.exact, *expanded]))
        ours = _search(text, n=10)
        theirs = _tantivy_top(names, terms, 10)
        # the same scores, rank by rank (tantivy computes in f32); ties may order differently
        our_scores = [_bm25(d["name"], terms, names) for d in ours]
        assert len(ours) == len(theirs), text
        for a, (b, _) in zip(our_scores, theirs, strict=True):
            assert math.isclose(a, b, rel_tol=1e-4), (text, our_scores, theirs)
        boundary = theirs[-1][0] if len(theirs) == 10 else -1
        strict_theirs = {n for s, n in theirs if s > boundary * (1 + 1e-4)}
        assert strict_theirs <= set(_names(ours)), text
        overlaps.append(len(set(_names(ours)) & {n for _, n in theirs}) / max(1, len(theirs)))
        # up to ties: every one of ours scores at least tantivy's tenth
        tied.append(sum(1 for a in our_scores if a >= boundary * (1 - 1e-4)) / max(1, len(ours)))
    print(
        f"top-10 agreement with tantivy over {len(QUERIES)} queries: "
        f"identical names {sum(overlaps) / len(overlaps):.3f}, up to equal scores {sum(tied) / len(tied):.3f}"
    )
    assert sum(tied) / len(tied) == 1.0
    assert sum(overlaps) / len(overlaps) >= 0.8


def _bm25(name: str, terms: list[str], corpus: list[str]) -> float:
    docs = [Counter(tokenize(n)) for n in corpus]
    n = len(docs)
    avgdl = sum(sum(d.values()) for d in docs) / n
    mine = Counter(tokenize(name))
    dl = sum(mine.values())
    score = 0.0
    for t in terms:
        df = sum(1 for d in docs if t in d)
        if mine[t]:
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            score += idf * mine[t] * 2.2 / (mine[t] + 1.2 * (0.25 + 0.75 * dl / avgdl))
    return score


# ------------------------------------------------------------------------------- consistency


def test_consistent_after_insert_patch_and_delete(table: str) -> None:
    (a,) = _insert(["Trail Running Club"])
    assert _names(_search("trail")) == ["Trail Running Club"]
    run_mutation(lambda db: db.patch(a, {"name": "Road Cycling Club"}), org=ORG)
    assert _search("trail") == []
    assert _names(_search("cycling")) == ["Road Cycling Club"]
    assert _names(_search("club")) == ["Road Cycling Club"]
    run_mutation(lambda db: db.patch(a, {"status": "published"}), org=ORG)
    assert _search("club", status="draft") == []
    assert _names(_search("club", status="published")) == ["Road Cycling Club"]
    run_mutation(lambda db: db.delete(a), org=ORG)
    assert _search("club") == []
    assert _search("r") == []


def test_a_mutation_searches_its_own_writes(table: str) -> None:
    (old,) = _insert(["Old Yoga Studio"])

    def body(db):
        new = db.insert("entities", entity("blog_post", "New Yoga Mat"))
        db.delete(old)

        def found():
            q = db.query("entities").with_search_index("search_entities", lambda q: q.search("name", "yoga"))
            return [d["_id"] for d in q.collect()]

        return new, found()

    new, seen = run_mutation(body, org=ORG)
    assert seen == [new]
    assert _names(_search("yoga")) == ["New Yoga Mat"]


def test_statistics_follow_every_write(table: str) -> None:
    ids = _insert(["one two", "two three", "three four five"])
    run_mutation(lambda db: db.patch(ids[0], {"name": "one two two"}), org=ORG)
    run_mutation(lambda db: db.delete(ids[2]), org=ORG)
    settle_search()
    names = ["one two two", "two three"]
    for term in ("one", "two", "three"):
        got = _search(term)
        assert [d["name"] for d in got] == sorted(
            [n for n in names if term in tokenize(n)], key=lambda n: -_bm25(n, [term], names)
        )


def test_filters_eq_and_post_filter(table: str) -> None:
    _insert(["Coach Ana", "Coach Bo"], kind="video", status="active")
    _insert(["Coach Cy"], kind="video", status="inactive")
    _insert(["Coach Guide"], kind="blog_post", status="draft")
    assert sorted(_names(_search("coach", type="video"))) == ["Coach Ana", "Coach Bo", "Coach Cy"]
    assert sorted(_names(_search("coach", type="video", status="active"))) == ["Coach Ana", "Coach Bo"]
    assert _names(_search("coach", status="draft")) == ["Coach Guide"]
    got = run_query(
        lambda db: (
            db.query("entities")
            .with_search_index("search_entities", lambda q: q.search("name", "coach"))
            .filter(lambda q: q.eq(q.field("name"), "Coach Bo"))
            .collect()
        ),
        org=ORG,
    )
    assert _names(got) == ["Coach Bo"]


def test_bad_search_expressions(table: str) -> None:
    def run(build, then=lambda q: q.take(1)):
        return run_query(
            lambda db: then(db.query("entities").with_search_index("search_entities", build)), org=ORG
        )

    with pytest.raises(ValidationError, match="filters on type, status"):
        run(lambda q: q.search("name", "x").eq("bio", "y"))
    with pytest.raises(ValidationError):
        run(lambda q: q.search("bio", "x"))
    with pytest.raises(ValidationError):
        run(lambda q: q.eq("type", "creator"))
    with pytest.raises(ValidationError):
        run(lambda q: q.search("name", "x").eq("type", "a").eq("type", "b"))
    with pytest.raises(ValidationError, match="relevance order"):
        run(lambda q: q.search("name", "x"), then=lambda q: q.order("desc"))
    with pytest.raises(ValidationError):
        run_query(lambda db: db.query("entities").with_index("search_entities"), org=ORG)


def test_tenancy(table: str) -> None:
    _insert(["Shared Word Here"], org=ORG)
    _insert(["Shared Word There"], org=OTHER_ORG)
    assert _names(_search("shared", org=ORG)) == ["Shared Word Here"]
    assert _names(_search("shared", org=OTHER_ORG)) == ["Shared Word There"]
    assert _names(_search("here", org=OTHER_ORG)) == []


def test_paginate_in_relevance_order(table: str) -> None:
    names = [f"pace {'x ' * i}".strip() for i in range(25)]
    _insert(names)
    seen: list[str] = []
    cursor = None
    while True:
        page = run_query(
            lambda db, cursor=cursor: (
                db.query("entities")
                .with_search_index("search_entities", lambda q: q.search("name", "pace"))
                .paginate({"numItems": 7, "cursor": cursor})
            ),
            org=ORG,
        )
        seen += _names(page["page"])
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    assert seen == names  # shortest first: each name is one term longer than the one before


@pytest.mark.slow
def test_reads_follow_the_page_not_the_index(table: str, requests_counter) -> None:
    """A search reads the exact terms' dictionary entries and the totals (one BatchGetItem), the
    prefix's dictionary range (one Query), each term's list at most four times (pages of 128, 256,
    512, then its cap) and the page's documents: its requests do not grow with the index."""
    from ontology.data.dynamodb import default_store
    from ontology.data.migrations.registry import registered
    from ontology.data.migrations.runner import run_all

    run_all(default_store(), registered())  # a new table: nothing of the first layout to read
    names = _corpus(600, seed=11)
    counts = []
    for chunk in (names[:100], names[100:]):
        _insert(chunk)
        requests_counter.reset()
        found = _search("marathon training pla", n=10)
        ops = requests_counter.ops()
        assert len(found) == 10
        lists = 3  # marathon, training, plan
        assert ops.count("Query") <= 1 + 4 * lists, ops
        assert ops.count("BatchGetItem") == 2, ops  # dictionary + totals, then the page
        counts.append(len(ops))
    print(f"requests for a 3-term search at 100 and 600 documents: {counts}")


def test_a_list_past_its_cap_is_limit_exceeded_not_a_short_result(table: str, monkeypatch) -> None:
    from ontology.data import search

    monkeypatch.setattr(search, "LIST_CAP", 10)
    _insert([f"same word {i}" for i in range(40)])

    def run(then):
        return run_query(
            lambda db: then(
                db.query("entities").with_search_index("search_entities", lambda q: q.search("name", "same"))
            ),
            org=ORG,
        )

    assert len(run(lambda q: q.take(5))) == 5
    with pytest.raises(LimitExceededError) as err:
        run(lambda q: q.collect())
    assert err.value.code == "LIMIT_EXCEEDED"


def test_a_write_that_leaves_the_text_and_filters_alone_moves_no_index_entry() -> None:
    from ontology.data.schema import table
    from ontology.data.search import IndexWrites

    index = table("entities").search_indexes[0]
    old = {
        **entity("blog_post", "Marathon pacing", status="draft", views=1),
        "_id": "ent_1",
        "_creationTime": 1.0,
    }
    writes = IndexWrites()
    writes.add(index, ORG, "entities", old, {**old, "properties": {"views": 2}, "updatedAt": 9})
    assert len(writes) == 0
    for changed in ({"name": "Marathon pacing plans"}, {"status": "published"}, {"type": "video"}):
        writes = IndexWrites()
        writes.add(index, ORG, "entities", old, {**old, **changed})
        assert len(writes) > 0, changed


def test_ranking_over_every_type_and_status_agrees_with_bm25(table: str) -> None:
    """Without an ``.eq`` on the type, a term's postings are read from one list per type and merged;
    with a status, they are filtered as read: the same scores, rank by rank, as BM25 over the
    organization's documents."""
    rng = random.Random(9)
    rows = [
        (name, rng.choice(["blog_post", "video", "lesson"]), rng.choice(["draft", "published"]))
        for name in _corpus(150, seed=5)
    ]
    for kind in ("blog_post", "video", "lesson"):
        for status in ("draft", "published"):
            _insert([n for n, k, s in rows if k == kind and s == status], kind=kind, status=status)
    settle_search()
    names = [n for n, _, _ in rows]
    vocabulary = sorted({t for n in names for t in tokenize(n)})
    for text, eq in [
        ("marathon training", {}),
        ("coach pa", {}),
        ("yoga", {"status": "published"}),
        ("run", {"type": "video", "status": "draft"}),
    ]:
        q = parse_query(text)
        terms = list(dict.fromkeys([*q.exact, *[t for t in vocabulary if t.startswith(q.prefix)][:16]]))
        kept = [n for n, k, s in rows if eq.get("type", k) == k and eq.get("status", s) == s]
        expected = sorted(
            (_bm25(n, terms, names) for n in kept if set(tokenize(n)) & set(terms)), reverse=True
        )
        ours = [_bm25(d["name"], terms, names) for d in _search(text, n=12, **eq)]
        assert len(ours) == min(12, len(expected)), text
        for a, b in zip(ours, expected, strict=False):
            assert math.isclose(a, b, rel_tol=1e-9), (text, ours, expected[:12])


def test_the_prefix_counts_the_terms_that_hold_a_document_now(table: str) -> None:
    """A term whose documents were all deleted takes no place among the prefix's 16; one whose
    document came back since the aggregates counted it at none does, at once."""
    (gone,) = _insert(["al0"])
    settle_search()
    run_mutation(lambda db: db.delete(gone), org=ORG)
    _insert([f"al{i}" for i in range(1, 17)])
    settle_search()  # al0: no document; al1 … al16: one each
    assert sorted(_names(_search("al", n=20))) == sorted(f"al{i}" for i in range(1, 17))
    _insert(["al0 again"])  # not counted yet: its dictionary entry still says no document
    first = sorted(["al0", *(f"al{i}" for i in range(1, 17))])[:16]  # in term order: al9 is the 17th
    assert "al9" not in first
    assert sorted(_names(_search("al", n=20))) == sorted("al0 again" if t == "al0" else t for t in first)
