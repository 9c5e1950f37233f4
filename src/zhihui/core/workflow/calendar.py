"""Working days (工作日) with the Chinese public-holiday calendar, kept as data in
``holidays/cn.toml`` (the State Council's yearly arrangement: holidays and the make-up working
weekends, 调休). Deadlines of the exchange (Art. 46) and of requests to correct or delete
(Art. 50) count these days.

The rule for a deadline follows the usual Chinese administrative convention: the day a case
starts is not counted; the deadline falls at the end (23:59:59, China time) of the Nth working
day after it. Years that the data file does not cover count Monday to Friday."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path

CHINA = timezone(timedelta(hours=8), "CST")  # no daylight saving since 1991
DEFAULT_FILE = Path(__file__).parent / "holidays" / "cn.toml"
END_OF_DAY = time(23, 59, 59, 999999)


@dataclass(frozen=True)
class Calendar:
    """Days off and make-up working days by date; ``years`` are those the data covers."""

    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)
    years: dict[int, str] = field(default_factory=dict)  # year -> source (the notice)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def why(self, day: date) -> str:
        """What kind of day this is, for people: 节假日 (name), 调休上班, 周末, 工作日."""
        if day in self.workdays:
            return f"调休上班（{self.workdays[day]}）"
        if day in self.holidays:
            return f"节假日（{self.holidays[day]}）"
        return "周末" if day.weekday() >= 5 else "工作日"

    def add_working_days(self, start: date, days: int) -> date:
        """The Nth working day after ``start`` (``start`` itself is not counted); 0 days is
        ``start`` itself."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        left = days
        while left:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def deadline(self, start: datetime, days: int) -> datetime:
        """The end of the Nth working day after the (China-time) day of ``start``, in UTC."""
        local = _aware(start).astimezone(CHINA).date()
        last = self.add_working_days(local, days)
        return datetime.combine(last, END_OF_DAY, tzinfo=CHINA).astimezone(UTC)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after the (China-time) day of ``start`` up to and including the day of
        ``end``: how long an answer took, in the unit deadlines use. 0 if ``end`` is earlier."""
        first = _aware(start).astimezone(CHINA).date()
        last = _aware(end).astimezone(CHINA).date()
        count = 0
        day = first
        while day < last:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse(text: str) -> Calendar:
    """A calendar from the TOML of ``holidays/cn.toml``; a malformed file raises ValueError
    naming the entry, so an operator's edit fails loudly at start, not in a deadline."""
    data = tomllib.loads(text)
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    years: dict[int, str] = {}
    for year_key, year in (data.get("years") or {}).items():
        y = int(year_key)
        years[y] = str(year.get("source", ""))
        for h in year.get("holidays", []):
            first, last = _date(h["from"]), _date(h["to"])
            if last < first or first.year != y or last.year != y:
                raise ValueError(f"holiday {h!r} is not a range within {y}")
            day = first
            while day <= last:
                holidays[day] = str(h.get("name", ""))
                day += timedelta(days=1)
        for w in year.get("workdays", []):
            day = _date(w["date"])
            if day.year != y:
                raise ValueError(f"make-up working day {w!r} is not in {y}")
            workdays[day] = str(w.get("name", ""))
    clash = set(holidays) & set(workdays)
    if clash:
        raise ValueError(f"days both off and working: {sorted(clash)}")
    return Calendar(holidays=holidays, workdays=workdays, years=years)


def _date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@lru_cache(maxsize=4)
def load(path: str | None = None) -> Calendar:
    """The calendar in ``path`` (default: the file shipped with zhihui), read once."""
    return parse(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))


def default_calendar() -> Calendar:
    """The configured calendar: ``ZHIHUI_WORKFLOW__HOLIDAYS_FILE`` if set, else ours."""
    from zhihui.core.workflow.config import workflow_settings

    return load(workflow_settings().holidays_file)
