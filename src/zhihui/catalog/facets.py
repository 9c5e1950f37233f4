"""The catalogue's facet and sort fields held in memory, column by column, for fast search.

A search engine answers facet counts from per-field columns of small integer codes (Solr's
doc values); SQL answers them with a GROUP BY per facet over the matched rows, which on a
100,000-resource catalogue was most of a faceted search's time (MEASUREMENTS.md,
benchmarks/RESULTS.md). Here each process keeps a ``Snapshot``: for every resource, by integer
pk, the code of each facet column's value, the codes of its tags and distribution formats, its
visibility flags and its sort keys. A search then asks the database only for the full-text
matches (pk and score) and counts, filters and ranks them with numpy.

The snapshot follows the database: every search reads the catalogue's version (newest pk,
newest modification time), and a changed version reloads the rows created or modified since
the last look, with a look-back margin (``LOOKBACK``) for transactions that committed out of
order, which are also looked for every ``REFRESH_SECONDS``; when the number of resources
does not add up after such a refresh (a row deleted outside the service), everything is
reloaded. Every change
through the catalogue service sets ``modified``; a write that bypasses it must too (or call
``forget``). When the version goes backwards (a rolled-back write seen by the search that
made the snapshot), the snapshot is dropped and the search falls back to SQL. The server
loads the snapshot at start-up and refreshes it in the background (``api.keep_snapshot_fresh``).

``service.search`` decides when the snapshot can answer: filters by name, id or resource code
and the ``views`` sort (counted without touching ``modified``) go to SQL. The answers are the
same either way, on SQLite and PostgreSQL (``tests/catalog/test_facets.py`` compares them).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, String, func, literal_column, or_, select, type_coerce
from sqlalchemy.orm import Session

from zhihui.catalog.models import Resource, ResourceFacet

# Facet name -> Resource column (service.FACET_COLUMNS is made from it).
COLUMNS: dict[str, str] = {
    "organization": "owner_org_id",
    "classification": "classification",
    "theme": "theme",
    "sharing_type": "sharing_type",
    "opening_type": "opening_type",
    "format": "format",
    "update_cycle": "update_cycle",
    "license_id": "license_id",
}
MANY = ("tags", "res_format")
# Sorts the snapshot can rank (service.SORTS); ``views`` changes without ``modified``.
SORTS = ("relevance", "name", "date", "published", "created")

REFRESH_SECONDS = 60.0
LOOKBACK = timedelta(minutes=5)
_NO_DATE = -(2**40)  # NULL published dates sort below every date, as SQLite sorts NULL
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Filter:
    """Which resources a search may return, as data: ``service._conditions`` turns it into SQL,
    ``Snapshot.mask`` into a boolean array; the two must agree."""

    unopened: bool  # include resources that are not opened (opening_type "none")
    show_deleted: bool = False
    deleted_orgs: frozenset[str] | None = None  # with show_deleted: only these orgs' (None: all)
    columns: tuple[tuple[str, tuple[str, ...]], ...] = ()  # facet field -> any of these values
    tags: tuple[str, ...] = ()  # every one of these tags
    formats: tuple[str, ...] = ()  # any of these distribution formats (upper case)
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()  # name / id / resource_code: SQL only

    @property
    def in_memory(self) -> bool:
        return not self.keys


# How the database hands over times (integer microseconds since 1970) and dates (days):
# PostgreSQL computes them; SQLite's text (SQLAlchemy's fixed format) is parsed by numpy.
_TIME_SQL = {"postgresql": "CAST(EXTRACT(EPOCH FROM resource.{0}) * 1000000 AS BIGINT)"}
_DATE_SQL = {"postgresql": "(resource.{0} - DATE '1970-01-01')"}


def _numbers(values: Sequence[Any], unit: str) -> np.ndarray:
    """Times or dates as integers, NULL as ``_NO_DATE``."""
    if any(isinstance(v, str) for v in values[:1000]):
        out = np.array(values, dtype=f"datetime64[{unit}]").astype(np.int64)
        out[out == np.iinfo(np.int64).min] = _NO_DATE  # NaT
        return out
    return np.array([_NO_DATE if v is None else v for v in values], dtype=np.int64)


def _utf8(values: Sequence[str | None]) -> np.ndarray:
    """Byte strings in UTF-8, whose order is code point order: SQLite's BINARY collation and
    PostgreSQL's C collation order text the same way."""
    return np.array([(v or "").encode() for v in values], dtype=bytes)


@dataclass
class _Codes:
    """A column of small integer codes and the values they stand for."""

    codes: np.ndarray
    values: list[Any]
    lookup: dict[Any, int]
    _order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    @classmethod
    def encode(cls, raw: Sequence[Any], base: _Codes | None = None) -> _Codes:
        """``raw`` as codes, keeping the codes ``base`` gave its values."""
        values = list(base.values) if base else []
        lookup = dict(base.lookup) if base else {}
        encoded = pc.dictionary_encode(pa.array(raw, type=pa.string()), null_encoding="encode")
        remap = np.empty(len(encoded.dictionary), dtype=np.int32)
        for i, v in enumerate(encoded.dictionary.to_pylist()):
            c = lookup.get(v)
            if c is None:
                c = lookup[v] = len(values)
                values.append(v)
            remap[i] = c
        return cls(remap[encoded.indices.to_numpy()], values, lookup)

    def code(self, value: Any) -> int | None:
        return self.lookup.get(value)

    def value_order(self) -> np.ndarray:
        """Each code's place when the values are sorted in code point order (None first)."""
        if len(self._order) != len(self.values):
            keys = sorted(range(len(self.values)),
                          key=lambda c: "" if self.values[c] is None else str(self.values[c]))
            order = np.empty(len(keys), dtype=np.int64)
            order[np.array(keys, dtype=np.int64)] = np.arange(len(keys))
            self._order = order
        return self._order


def _fetch(session: Session, changed_since: tuple[int, datetime | None] | None = None
           ) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, list[str]]]]:
    """The fields of every resource, or of those after pk ``changed_since[0]`` or modified
    since ``changed_since[1]``, column by column; and their tags and formats."""
    dialect = session.get_bind().dialect.name

    def timed(col: str, sql: dict[str, str]) -> Any:
        return literal_column(sql[dialect].format(col)) if dialect in sql else \
            type_coerce(Resource.__table__.c[col], String())

    stmt = select(Resource.pk, *(getattr(Resource, c) for c in COLUMNS.values()),
                  Resource.deleted, timed("modified", _TIME_SQL), timed("created", _TIME_SQL),
                  timed("published", _DATE_SQL), Resource.name, Resource.title)
    if changed_since is not None:
        max_pk, since = changed_since
        stmt = stmt.where(or_(Resource.pk > max_pk, *(
            [Resource.modified >= since] if since is not None else [])))
    rows = session.execute(stmt).all()
    cols = list(zip(*rows, strict=True)) if rows else [()] * (len(COLUMNS) + 7)
    n = len(COLUMNS)
    fields: dict[str, Any] = {
        "pk": np.array(cols[0], dtype=np.int64),
        **{facet: cols[1 + i] for i, facet in enumerate(COLUMNS)},
        "deleted": np.array(cols[n + 1], dtype=bool),
        "modified": _numbers(cols[n + 2], "us"),
        "created": _numbers(cols[n + 3], "us"),
        "published": _numbers(cols[n + 4], "D"),
        "name": _utf8(cols[n + 5]),
        "title": _utf8(cols[n + 6]),
    }
    many: dict[str, tuple[np.ndarray, list[str]]] = {}
    fc = ResourceFacet.__table__.c
    for fld in MANY:
        if changed_since is None:
            found = session.execute(select(fc.resource_pk, fc.value).where(fc.field == fld)).all()
        else:
            pks = [int(p) for p in fields["pk"]]
            found = []
            for i in range(0, len(pks), 500):
                found += session.execute(select(fc.resource_pk, fc.value).where(
                    fc.field == fld, fc.resource_pk.in_(pks[i:i + 500]))).all()
        many[fld] = (np.array([r[0] for r in found], dtype=np.int64), [r[1] for r in found])
    return fields, many


@dataclass
class Snapshot:
    version: tuple[Any, ...]
    pks: np.ndarray  # sorted
    columns: dict[str, _Codes]  # facet field -> codes, row-aligned with pks
    deleted: np.ndarray
    modified: np.ndarray  # microseconds since 1970
    created: np.ndarray
    published: np.ndarray  # days since 1970, _NO_DATE for none
    name: np.ndarray  # UTF-8 bytes
    title: np.ndarray
    # tags / res_format -> (the row of each entry, the codes of the entries), by row
    many: dict[str, tuple[np.ndarray, _Codes]]
    checked: float = field(default_factory=time.monotonic)
    _starts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.pks)

    @property
    def max_modified(self) -> datetime | None:
        if not self.size or self.modified.max() == _NO_DATE:
            return None
        return _EPOCH + timedelta(microseconds=int(self.modified.max()))

    # --- building -------------------------------------------------------------------------

    @classmethod
    def load(cls, session: Session, version: tuple[Any, ...]) -> Snapshot:
        return cls._build(version, *_fetch(session), None)

    def refreshed(self, session: Session, version: tuple[Any, ...]) -> Snapshot:
        """A new snapshot with the rows created or modified since this one (with a look-back
        margin for transactions that committed late) read again."""
        since = self.max_modified
        fields, many = _fetch(session, (int(self.pks[-1]) if self.size else 0,
                                        since - LOOKBACK if since else None))
        return self._build(version, fields, many, self)

    @classmethod
    def _build(cls, version: tuple[Any, ...], fields: dict[str, Any],
               many_rows: dict[str, tuple[np.ndarray, list[str]]], base: Snapshot | None
               ) -> Snapshot:
        """From ``fields`` alone, or ``base`` with the rows in ``fields`` replacing or adding."""
        new_pks = fields["pk"]
        kept = (np.flatnonzero(~np.isin(base.pks, new_pks)) if base is not None
                else np.zeros(0, dtype=np.int64))
        pks = np.concatenate([base.pks[kept], new_pks]) if base is not None else new_pks
        order = np.argsort(pks, kind="stable")
        pks = pks[order]

        def merged(name: str, new: np.ndarray) -> np.ndarray:
            if base is None:
                return new[order]
            old = getattr(base, name)[kept]
            if new.dtype.kind == "S":  # byte strings: one width for both
                width = max(old.dtype.itemsize, new.dtype.itemsize)
                old, new = old.astype(f"S{width}"), new.astype(f"S{width}")
            return np.concatenate([old, new])[order]

        columns = {}
        for facet in COLUMNS:
            codes = _Codes.encode(fields[facet], base.columns[facet] if base else None)
            if base is not None:
                codes.codes = np.concatenate([base.columns[facet].codes[kept], codes.codes])
            codes.codes = codes.codes[order]
            columns[facet] = codes
        many = {}
        for fld in MANY:
            entry_pks, values = many_rows[fld]
            prev = base.many[fld] if base is not None else None
            codes = _Codes.encode(values, prev[1] if prev else None)
            if prev is not None and base is not None:
                still = np.isin(prev[0], kept)  # entries of rows that were not read again
                entry_pks = np.concatenate([base.pks[prev[0][still]], entry_pks])
                codes.codes = np.concatenate([prev[1].codes[still], codes.codes])
            entry_rows = np.searchsorted(pks, entry_pks)
            by_row = np.argsort(entry_rows, kind="stable")
            codes.codes = codes.codes[by_row]
            many[fld] = (entry_rows[by_row], codes)
        return cls(version=version, pks=pks, columns=columns, many=many,
                   **{k: merged(k, fields[k]) for k in
                      ("deleted", "modified", "created", "published", "name", "title")})

    # --- answering ------------------------------------------------------------------------

    def rows_of(self, pks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The row of each pk the snapshot holds, and which of ``pks`` those are."""
        if not self.size or not len(pks):
            return np.zeros(0, dtype=np.int64), np.zeros(len(pks), dtype=bool)
        pos = np.minimum(np.searchsorted(self.pks, pks), self.size - 1)
        found = self.pks[pos] == pks
        return pos[found], found

    def _rows_with(self, fld: str, values: Iterable[str]) -> np.ndarray:
        rows, codes = self.many[fld]
        wanted = [c for v in values if (c := codes.code(v)) is not None]
        out = np.zeros(self.size, dtype=bool)
        if wanted:
            out[rows[np.isin(codes.codes, wanted)]] = True
        return out

    def mask(self, flt: Filter) -> np.ndarray:
        """Which rows ``flt`` lets through."""
        keep = np.ones(self.size, dtype=bool)
        if not flt.unopened:
            none = self.columns["opening_type"].code("none")
            if none is not None:
                keep &= self.columns["opening_type"].codes != none
        if not flt.show_deleted:
            keep &= ~self.deleted
        elif flt.deleted_orgs is not None:
            orgs = self.columns["organization"]
            allowed = [c for o in flt.deleted_orgs if (c := orgs.code(o)) is not None]
            keep &= ~self.deleted | np.isin(orgs.codes, allowed)
        for facet, values in flt.columns:
            col = self.columns[facet]
            keep &= np.isin(col.codes, [c for v in values if (c := col.code(v)) is not None])
        for tag in flt.tags:
            keep &= self._rows_with("tags", [tag])
        if flt.formats:
            keep &= self._rows_with("res_format", flt.formats)
        return keep

    def _entries(self, fld: str, rows: np.ndarray) -> np.ndarray:
        """The codes of the entries of ``rows`` (sorted), found by bisection: for a few rows
        this reads far less than a pass over every entry."""
        entry_rows, col = self.many[fld]
        if fld not in self._starts:  # where each row's entries start, and the end
            self._starts[fld] = np.searchsorted(entry_rows, np.arange(self.size + 1))
        starts = self._starts[fld][rows]
        lengths = self._starts[fld][rows + 1] - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros(0, dtype=np.int32)
        # Positions starts[i] .. ends[i]-1 for every i, without a Python loop.
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        return col.codes[offsets + np.arange(total)]

    def facets(self, selected: np.ndarray, names: Sequence[str], limit: int,
               rows: np.ndarray | None = None) -> dict[str, list[tuple[str, int]]]:
        """Facet counts over the rows where ``selected`` (a boolean row mask) is true, which
        are ``rows`` (sorted) if given: most frequent first, then by value in code point
        order; empty values are not listed."""
        few = rows is not None and len(rows) * 8 < self.size
        if few:
            assert rows is not None
            rows = np.sort(rows)
        out: dict[str, list[tuple[str, int]]] = {}
        for name in names:
            if name in COLUMNS:
                col = self.columns[name]
                picked = col.codes[rows] if few else col.codes[selected]
            else:
                entry_rows, col = self.many[name]
                picked = (self._entries(name, rows) if few and rows is not None
                          else col.codes[selected[entry_rows]])
            counts = np.bincount(picked, minlength=len(col.values))
            present = np.flatnonzero(counts)
            # Most frequent first, then by value: only the first ``limit`` become Python.
            present = present[np.lexsort((col.value_order()[present], -counts[present]))]
            if limit >= 0:
                present = present[:limit]
            out[name] = [(str(col.values[c]), int(counts[c])) for c in present
                         if col.values[c] not in (None, "")]
        return out

    def rank(self, rows: np.ndarray, scores: np.ndarray | None, sort: str) -> np.ndarray:
        """``rows`` in the order of ``sort`` (service.SORTS), ties broken as SQL breaks them:
        by name, compared only where the other keys tie (comparing strings is the slow part)."""
        if sort == "relevance":
            keys = [-(scores if scores is not None else np.zeros(len(rows))),
                    -self.modified[rows]]
        elif sort == "name":
            return rows[np.lexsort((self.name[rows], self.title[rows]))]
        elif sort in ("date", "published", "created"):
            keys = [-getattr(self, "modified" if sort == "date" else sort)[rows]]
        else:
            raise ValueError(f"the snapshot does not rank by {sort!r}")
        order = np.lexsort(keys[::-1])
        if len(order) > 1:
            tied = np.ones(len(order) - 1, dtype=bool)
            for k in keys:
                ranked = k[order]
                tied &= ranked[1:] == ranked[:-1]
            if tied.any():
                order = np.lexsort((self.name[rows], *keys[::-1]))
        return rows[order]


# --- one snapshot per database, per process --------------------------------------------------

@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    snapshot: Snapshot | None = None


_SLOTS: weakref.WeakKeyDictionary[Engine, _Slot] = weakref.WeakKeyDictionary()
_SLOTS_LOCK = threading.Lock()


def version(session: Session) -> tuple[Any, ...]:
    """The catalogue's version: every change through the catalogue service moves one part.
    Two statements in one, each answered from an index (SQLite optimises a lone min/max;
    together they would scan the table)."""
    return tuple(session.execute(select(
        select(func.max(Resource.pk)).scalar_subquery(),
        select(func.max(Resource.modified)).scalar_subquery())).one())


def _count(session: Session) -> int:
    """How many resources there are: checked when the snapshot is refreshed, not on every
    search (PostgreSQL counts by reading the table: ~30 ms on 100,000 resources)."""
    return int(session.scalar(select(func.count()).select_from(Resource)) or 0)


def _newer_or_same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether version ``a`` can follow ``b`` (nothing in it went backwards)."""
    return all(x is None or (y is not None and y >= x) for x, y in zip(b[:2], a[:2], strict=True))


def snapshot(session: Session) -> Snapshot | None:
    """The catalogue's snapshot as this session sees it, or None where SQL must answer."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _SLOTS_LOCK:
        slot = _SLOTS.setdefault(engine, _Slot())
    current = version(session)
    with slot.lock:
        snap = slot.snapshot
        if (snap is not None and snap.version == current
                and time.monotonic() - snap.checked < REFRESH_SECONDS):
            return snap
        if snap is not None and not _newer_or_same(current, snap.version):
            slot.snapshot = None  # a rolled-back write, or a session older than the snapshot
            return None
        fresh = (snap.refreshed(session, current) if snap is not None
                 else Snapshot.load(session, current))
        if snap is not None and fresh.size != _count(session):  # a hard delete, a late row
            fresh = Snapshot.load(session, current)
        slot.snapshot = fresh
        return fresh


def forget(engine: Engine) -> None:
    """Drop the snapshot of ``engine``'s database (tests; after bulk writes that bypass the
    service)."""
    with _SLOTS_LOCK:
        _SLOTS.pop(engine, None)
