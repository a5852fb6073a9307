"""Reading what organisers type: pounds, whole numbers, London dates and times, web addresses."""

from zoneinfo import ZoneInfo

import pytest

from booking.domain import inputs

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("typed", "pence"),
    [("7.50", 750), ("£7.5", 750), ("7", 700), ("0", 0), (" 1,250.00 ", 125000), (".99", 99)],
)
def test_pounds_to_pence(typed, pence):
    assert inputs.pence(typed, name="Price", missing="Enter a price") == pence


@pytest.mark.parametrize(
    "typed",
    ["7.505", "-1", "seven", "7,5", "7,50", "1,0000", "1e3", "0x10", "7.5.0", "inf", "nan", "١٢"],
)
def test_what_is_not_an_amount_of_money(typed):
    with pytest.raises(ValueError, match="Price must be an amount of money, like 7.50"):
        inputs.pence(typed, name="Price", missing="Enter a price")


@pytest.mark.parametrize(
    ("day", "clock", "utc"),
    [
        ("2036-07-03", "19:00", "2036-07-03T18:00:00+00:00"),  # BST
        ("3/7/2036", "7pm", "2036-07-03T18:00:00+00:00"),
        ("03.07.2036", "7.30pm", "2036-07-03T18:30:00+00:00"),
        ("2036-12-04", "12am", "2036-12-04T00:00:00+00:00"),  # GMT, midnight
        ("2036-12-04", "12pm", "2036-12-04T12:00:00+00:00"),
    ],
)
def test_london_dates_and_times_are_stored_in_utc(day, clock, utc):
    value = inputs.local_datetime(day, clock, label="start", zone=LONDON, required=True)
    assert value.isoformat() == utc
    assert inputs.local_parts(value, LONDON)[0] == value.astimezone(LONDON).strftime("%Y-%m-%d")


@pytest.mark.parametrize(
    ("day", "clock", "message"),
    [
        ("", "", "Enter the start date"),
        ("2036-07-03", "", "Enter the start time"),
        ("", "19:00", "Enter the start date"),
        ("30/2/2036", "19:00", "The start date must be a real date"),
        ("1/1/1899", "19:00", "The start date must be a real date"),
        ("2036-07-03", "13pm", "The start time must be a real time"),
        ("2036-07-03", "19:60", "The start time must be a real time"),
        ("x" * 5000, "y" * 5000, "The start date must be a real date"),
    ],
)
def test_dates_and_times_that_are_not_real(day, clock, message):
    with pytest.raises(ValueError, match=message):
        inputs.local_datetime(day, clock, label="start", zone=LONDON, required=True)


def test_optional_moments_may_be_left_empty():
    assert inputs.local_datetime("", " ", label="end", zone=LONDON, required=False) is None


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        (
            "London and Brexit: will leaving the EU be good?",
            "london-and-brexit-will-leaving-the-eu-be-good",
        ),
        ("Café société — 2036!", "cafe-societe-2036"),
        ("???", ""),
    ],
)
def test_web_addresses_from_titles(title, slug):
    assert inputs.slug(title) == slug
