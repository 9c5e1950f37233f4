"""Working days count with the State Council's holiday arrangements, 调休 weekends included."""

from __future__ import annotations

from datetime import UTC, date, datetime

from zhihui.core.workflow.calendar import default_calendar, load, parse

CAL = load()


def test_every_make_up_working_day_is_a_weekend_and_every_year_names_its_source():
    assert set(CAL.years) >= {2024, 2025, 2026}
    assert all(day.weekday() >= 5 for day in CAL.workdays), "a 调休 day must be Sat or Sun"
    assert all(CAL.years[y].startswith("国务院办公厅") for y in CAL.years)


def test_spring_festival_2024_counts_the_sunday_make_up_day():
    # Feb 8 (Thu) -> Feb 9 (Fri, 除夕, a working day in 2024), then Feb 10-17 off,
    # Feb 18 (Sunday) is a working day
    assert CAL.add_working_days(date(2024, 2, 8), 1) == date(2024, 2, 9)
    assert CAL.add_working_days(date(2024, 2, 8), 2) == date(2024, 2, 18)
    assert CAL.add_working_days(date(2024, 2, 8), 3) == date(2024, 2, 19)


def test_spring_festival_2025_and_its_make_up_days():
    assert CAL.is_working_day(date(2025, 1, 26))  # Sunday, 调休上班
    assert not CAL.is_working_day(date(2025, 1, 28))  # 除夕
    assert CAL.add_working_days(date(2025, 1, 24), 3) == date(2025, 2, 5)
    assert CAL.is_working_day(date(2025, 2, 8))  # Saturday, 调休上班


def test_fifteen_working_days_across_the_2026_spring_festival():
    # Feb 11,12,13, 14 (Sat, make-up), [15-23 off], 24,25,26,27, 28 (Sat, make-up),
    # Mar 2,3,4,5,6, 9 -> the 15th working day is Monday 9 March
    assert CAL.add_working_days(date(2026, 2, 10), 15) == date(2026, 3, 9)
    assert CAL.why(date(2026, 2, 14)).startswith("调休上班")
    assert CAL.why(date(2026, 2, 16)).startswith("节假日")


def test_national_day_2026_and_new_year_2026():
    assert not CAL.is_working_day(date(2026, 10, 7))
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday make-up
    assert CAL.is_working_day(date(2026, 1, 4))  # Sunday make-up
    assert not CAL.is_working_day(date(2026, 1, 2))  # Friday, 元旦


def test_years_beyond_the_data_fall_back_to_monday_to_friday():
    assert CAL.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)  # a Friday
    assert CAL.add_working_days(date(2027, 1, 1), 1) == date(2027, 1, 4)


def test_a_deadline_ends_at_midnight_china_time_and_starts_from_the_china_day():
    # 10:00 UTC on Feb 8 is Feb 8 in China: two working days -> end of Sunday Feb 18
    assert CAL.deadline(datetime(2024, 2, 8, 10, tzinfo=UTC), 2) == \
        datetime(2024, 2, 18, 15, 59, 59, 999999, tzinfo=UTC)
    # 17:00 UTC on Feb 8 is already Feb 9 in China: the count starts a day later
    assert CAL.deadline(datetime(2024, 2, 8, 17, tzinfo=UTC), 1) == \
        datetime(2024, 2, 18, 15, 59, 59, 999999, tzinfo=UTC)


def test_working_days_between_is_the_inverse_of_adding():
    start = datetime(2024, 9, 12, 2, tzinfo=UTC)
    end = CAL.deadline(start, 7)
    assert CAL.working_days_between(start, end) == 7
    assert CAL.working_days_between(end, start) == 0


def test_an_operator_calendar_file_replaces_ours(tmp_path, monkeypatch):
    path = tmp_path / "h.toml"
    path.write_text('[years.2030]\nsource = "local"\nholidays = [{ name = "x", from = '
                    '"2030-01-02", to = "2030-01-02" }]\nworkdays = []\n', encoding="utf-8")
    monkeypatch.setenv("ZHIHUI_WORKFLOW__HOLIDAYS_FILE", str(path))
    cal = default_calendar()
    assert cal.years == {2030: "local"}
    assert not cal.is_working_day(date(2030, 1, 2))


def test_a_malformed_calendar_fails_loudly():
    import pytest

    with pytest.raises(ValueError, match="not a range"):
        parse('[years.2030]\nholidays = [{ name = "x", from = "2030-01-05", to = "2030-01-02" }]')
    with pytest.raises(ValueError, match="both off and working"):
        parse('[years.2030]\nholidays = [{ from = "2030-01-05", to = "2030-01-05" }]\n'
              'workdays = [{ date = "2030-01-05" }]')
