"""The 4-week chart: the PNG file exists, has the promised size, is a valid
image, and its pixels show pain bars exactly on the days with reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PIL import Image

from heupreminder.db.models import Person
from heupreminder.reports.chart import (
    BACKGROUND,
    DONE_COLOR,
    HEIGHT,
    PAIN_COLOR,
    REST_COLOR,
    WIDTH,
    Layout,
    chart_data,
    render_chart,
)
from tests.anna_history import anna

LAST_DAY = date(2026, 11, 29)


def day(d: int) -> int:
    """The chart column of a November day (the chart starts on 2 Nov)."""
    return d - 2


def centre(box: tuple[int, int, int, int]) -> tuple[int, int]:
    x0, y0, x1, y1 = box
    return (x0 + x1) // 2, (y0 + y1) // 2


def test_chart_png_shows_pain_on_report_days_only(tmp_path: Path, database_url: str) -> None:
    _, sessions = anna(tmp_path, database_url)
    with sessions() as session:
        person = session.get(Person, "anna")
        assert person is not None
        data = chart_data(session, person, LAST_DAY)
    assert data.first_day == date(2026, 11, 2) and len(data.days) == 28
    assert data.pain[day(25)] == 4 and data.pain[day(27)] == 3  # highest of 3 and 2
    assert data.pain[day(10)] == 0 and data.pain[day(26)] is None
    assert data.done[day(23)] == 1  # tapped twice, one session; magnesium is not a session
    assert [d for d, resting in zip(range(2, 30), data.rest, strict=True) if resting] == [
        26, 27, 28, 29]

    path = tmp_path / "chart.png"
    path.write_bytes(render_chart(data, "nl"))
    assert path.exists() and path.stat().st_size > 2000
    with Image.open(path) as image:
        image.verify()  # a valid PNG, not just bytes with a PNG header
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
        pixels = image.convert("RGB")
        layout = Layout(days=28, done_max=3)
        # A pain bar on every day with a report, of the day's highest level ...
        for d, level in ((15, 5), (20, 6), (25, 4), (27, 3), (28, 2)):
            assert pixels.getpixel(centre(layout.bar_box("pain", day(d), level))) == PAIN_COLOR
        # ... a level-0 report still shows on the base line ...
        x, _ = centre(layout.bar_box("pain", day(10), 0))
        assert pixels.getpixel((x, layout.panel("pain")[1] - 1)) == PAIN_COLOR
        # ... and no bar at all where a bar would stand on days without a report.
        for d in (3, 16, 24, 26, 29):
            x0, y0, x1, y1 = layout.bar_box("pain", day(d), 10)
            column = [pixels.getpixel(((x0 + x1) // 2, y)) for y in range(y0, y1 + 1)]
            assert PAIN_COLOR not in column, f"a pain bar on {d} Nov"
        # Sessions done per day, and rest days shaded (not empty, not a miss).
        assert pixels.getpixel(centre(layout.bar_box("done", day(23), 1))) == DONE_COLOR
        assert pixels.getpixel(centre(layout.bar_box("done", day(28), 1))) == DONE_COLOR
        assert pixels.getpixel(centre(layout.bar_box("done", day(27), 1))) == REST_COLOR
        assert pixels.getpixel(centre(layout.bar_box("done", day(25), 1))) == BACKGROUND
        assert pixels.getpixel(centre(layout.bar_box("done", day(10), 1))) == BACKGROUND


def test_chart_at_twice_the_size_for_phones(tmp_path: Path, database_url: str) -> None:
    _, sessions = anna(tmp_path, database_url)
    with sessions() as session:
        person = session.get(Person, "anna")
        assert person is not None
        png = render_chart(chart_data(session, person, LAST_DAY), "en", scale=2)
    path = tmp_path / "chart@2x.png"
    path.write_bytes(png)
    with Image.open(path) as image:
        assert image.size == (2 * WIDTH, 2 * HEIGHT)
        layout = Layout(days=28, scale=2, done_max=3)
        pixels = image.convert("RGB")
        assert pixels.getpixel(centre(layout.bar_box("pain", day(20), 6))) == PAIN_COLOR
        assert pixels.getpixel(centre(layout.bar_box("pain", day(21), 6))) == BACKGROUND


def test_an_empty_month_is_a_valid_empty_chart(tmp_path: Path, database_url: str) -> None:
    _, sessions = anna(tmp_path, database_url)
    with sessions() as session:
        person = session.get(Person, "anna")
        assert person is not None
        data = chart_data(session, person, date(2026, 10, 1))
    assert set(data.pain) == {None} and set(data.done) == {0} and not any(data.rest)
    path = tmp_path / "empty.png"
    path.write_bytes(render_chart(data, "nl"))
    with Image.open(path) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(1 << 20) or []}
    assert PAIN_COLOR not in colours and DONE_COLOR not in colours
