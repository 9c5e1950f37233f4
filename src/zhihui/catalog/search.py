"""Chinese full-text search over the catalogue, identical on SQLite and PostgreSQL.

Why character pairs: FTS5's trigram tokenizer cannot match two-character words (交通), jieba
word segmentation misses words inside longer runs, and PostgreSQL has no Chinese parser on
Debian (MEASUREMENTS.md). So every run of letters/digits is indexed as overlapping character
pairs (城市交通 -> 城市 市交 交通) plus its last character alone, and a query word becomes a
phrase of its pairs: an exact substring match, with indexes, in both databases.
- SQLite: an FTS5 table (unicode61 over the pair tokens), ranked by bm25.
- PostgreSQL: a tsvector built from the pair tokens directly (no parser, so no locale
  dependence), GIN-indexed, phrase queries with ``<->``, ranked by ts_rank.
Three weighted fields: the name (A), the rest of the text (B), the pinyin of the name and
tags (C). Pinyin is searched only as a fallback when the text finds nothing, and as prefixes:
every suffix of the full pinyin that starts at a syllable (chengshijiaotong, shijiaotong,
jiaotong, tong) and every suffix of the initials (csjt, sjt, jt, t) is one token, so
``jiaotong`` or ``jt`` is a single prefix lookup rather than a long phrase of common pairs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from pypinyin import Style, lazy_pinyin
from sqlalchemy import text
from sqlalchemy.orm import Session

RUN_RE = re.compile(r"[^\W_]+")
MAX_QUERY_TERMS = 8
MAX_TERM_CHARS = 40


def normalise(value: str) -> str:
    return unicodedata.normalize("NFKC", value).lower()


def runs(value: str) -> list[str]:
    return RUN_RE.findall(normalise(value))


def pair_tokens(value: str) -> list[str]:
    """Index tokens: overlapping pairs of each run, then the run's last character."""
    out: list[str] = []
    for run in runs(value):
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
        out.append(run[-1])
    return out


MAX_PINYIN = 40


def pinyin_tokens(value: str) -> list[str]:
    """Syllable-start suffixes of the full pinyin and suffixes of the initials of ``value``:
    城市交通 -> chengshijiaotong shijiaotong jiaotong tong csjt sjt jt t."""
    syllables = [s for s in lazy_pinyin(value, style=Style.NORMAL, errors="ignore")
                 if s.isascii() and s.isalpha()]
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables)
    starts, at = [], 0
    for s in syllables:
        starts.append(at)
        at += len(s)
    return ([full[i:i + MAX_PINYIN] for i in starts]
            + [initials[i:i + MAX_PINYIN] for i in range(len(initials))])


def is_pinyin_term(word: str) -> bool:
    return word.isascii() and word.isalpha()


@cache
def synonym_groups() -> list[tuple[str, ...]]:
    groups = []
    for line in Path(__file__).with_name("synonyms.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            groups.append(tuple(normalise(w) for w in line.split()))
    return groups


def expand(term: str) -> list[str]:
    """The term and its variants with each known abbreviation swapped for its equivalents."""
    variants = [term]
    for group in synonym_groups():
        for word in group:
            if word in term:
                for other in group:
                    if other != word:
                        v = term.replace(word, other)
                        if v not in variants:
                            variants.append(v)
    return variants[:8]


def query_terms(q: str) -> list[list[str]]:
    """Each run of letters/digits in ``q`` (terms are ANDed) with its synonym alternatives."""
    return [expand(run[:MAX_TERM_CHARS]) for run in runs(q)[:MAX_QUERY_TERMS]]


def has_pinyin_term(terms: list[list[str]]) -> bool:
    """Whether any word could be pinyin (letters only), so a pinyin pass may find more."""
    return any(is_pinyin_term(w) for alts in terms for w in alts)


# --- the index document --------------------------------------------------------------------


def document(name: str, body: Iterable[str], pinyin_source: Iterable[str]) -> dict[str, list[str]]:
    return {
        "name": pair_tokens(name),
        "body": [t for part in body for t in pair_tokens(part)],
        "pinyin": [t for part in pinyin_source for t in pinyin_tokens(part)],
    }


WEIGHTS = {"name": "A", "body": "B", "pinyin": "C"}


def _tsvector_literal(doc: dict[str, list[str]]) -> str:
    positions: dict[str, list[str]] = {}
    pos = 1
    for field, tokens in doc.items():
        w = WEIGHTS[field]
        for tok in tokens:
            positions.setdefault(tok, []).append(f"{min(pos, 16383)}{w}")
            pos += 1
        pos += 1  # a gap between fields: no phrase spans two of them
    return " ".join(f"'{tok}':{','.join(p)}" for tok, p in positions.items())


def index_resource(session: Session, pk: int, doc: dict[str, list[str]] | None) -> None:
    """Write (or with ``doc=None`` remove) a resource's index row, in the caller's transaction."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DELETE FROM resource_fts WHERE rowid = :pk"), {"pk": pk})
        if doc is not None:
            session.execute(
                text("INSERT INTO resource_fts(rowid, name, body, pinyin) "
                     "VALUES (:pk, :name, :body, :pinyin)"),
                {"pk": pk, **{k: " ".join(v) for k, v in doc.items()}},
            )
    else:
        session.execute(text("DELETE FROM resource_search WHERE pk = :pk"), {"pk": pk})
        if doc is not None:
            session.execute(
                text("INSERT INTO resource_search(pk, document) "
                     "VALUES (:pk, CAST(:doc AS tsvector))"),
                {"pk": pk, "doc": _tsvector_literal(doc)},
            )


def index_facets(session: Session, pk: int, facets: dict[str, list[str]]) -> None:
    """Write a resource's many-valued facet rows (``ResourceFacet``), replacing the old ones."""
    from zhihui.catalog.models import ResourceFacet

    table = ResourceFacet.__table__
    session.execute(table.delete().where(table.c.resource_pk == pk))
    rows = [{"resource_pk": pk, "field": field, "value": value[:100]}
            for field, values in facets.items() for value in dict.fromkeys(values) if value]
    if rows:
        session.execute(table.insert(), rows)


# --- the query ---------------------------------------------------------------------------


def _fts5_phrase(word: str) -> str:
    toks = pair_tokens(word)
    if len(word) == 1:
        return f'"{word}"*'
    return '"' + " ".join(toks[:-1]) + '"'


def _tsquery_phrase(word: str, weights: str) -> str:
    if len(word) == 1:
        return f"'{word}':*{weights}"
    toks = pair_tokens(word)[:-1]
    return "(" + " <-> ".join(f"'{t}':{weights}" for t in toks) + ")"


def match_sql(dialect: str, terms: list[list[str]], with_pinyin: bool) -> tuple[str, str]:
    """(SQL selecting pk and score of matching resources, the query parameter). With
    ``with_pinyin`` an all-letter word also matches as a pinyin prefix."""
    single = len(terms) == 1

    def pinyin(word: str) -> bool:
        return with_pinyin and is_pinyin_term(word)

    if dialect == "sqlite":
        def one(w: str) -> str:
            prefix = f'pinyin : "{w[:MAX_PINYIN]}"*'
            if pinyin(w) and single:
                return prefix  # the text alone found nothing: only the pinyin is left
            text_match = f"{{name body}} : {_fts5_phrase(w)}"
            return f"({text_match} OR {prefix})" if pinyin(w) else text_match

        expr = " AND ".join("(" + " OR ".join(one(w) for w in alts) + ")" for alts in terms)
        # bm25 is lower-is-better; negate so every dialect sorts score DESC.
        sql = ("SELECT rowid AS pk, -bm25(resource_fts, 10.0, 3.0, 1.0) AS score "
               "FROM resource_fts WHERE resource_fts MATCH :m")
        return sql, expr

    def one_pg(w: str) -> str:
        prefix = f"'{w[:MAX_PINYIN]}':*C"
        if pinyin(w) and single:
            return prefix
        text_match = _tsquery_phrase(w, "AB")
        return f"({text_match} | {prefix})" if pinyin(w) else text_match

    expr = " & ".join("(" + " | ".join(one_pg(w) for w in alts) + ")" for alts in terms)
    sql = ("SELECT pk, ts_rank('{0.1, 0.1, 0.3, 1.0}', document, CAST(:m AS tsquery)) AS score "
           "FROM resource_search WHERE document @@ CAST(:m AS tsquery)")
    return sql, expr


def matches(session: Session, sql: str, expr: str) -> list[tuple[int, float]]:
    """Run ``match_sql``'s statement on the session's own database connection and return its
    (pk, score) rows as the driver gives them: thousands of rows skip SQLAlchemy's result
    machinery, which costs more than the match itself."""
    dialect = session.get_bind().dialect.name
    cursor = session.connection().connection.cursor()
    try:
        if dialect == "sqlite":
            cursor.execute(sql, {"m": expr})
            return cursor.fetchall()
        # PostgreSQL's planner prices a match without the cost of reading each (TOASTed)
        # document, so it scans all of them rather than take the GIN index (on 100,000
        # resources: ~250 ms against ~65 ms through the index). The hint is for this statement
        # only: the transaction's setting is put back after it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        try:
            cursor.execute(sql.replace(":m", "%(m)s"), {"m": expr})
            return cursor.fetchall()
        finally:
            cursor.execute("SET LOCAL enable_seqscan = on")
    finally:
        cursor.close()
