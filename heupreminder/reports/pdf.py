"""The care provider's report as a PDF (fpdf2, pure Python).

Contract: ``to_pdf(report)`` returns the bytes of an A4 PDF with the person,
the period and, on the first page, the pain-and-exercise chart over the
period (a care provider reads it faster than the table); then the totals per
routine (rest days shown apart, not as misses), the pain summary, and one
table row per event, oldest first, the same rows as the CSV. Everything is
in the person's language and readable words (``care_words``): routine
titles, no codes, no database ids. The PDF's built-in fonts know Western
European text only: other characters (emoji, other scripts) print as ``?``
here; the CSV and JSON keep them exactly.
"""

from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from heupreminder.catalog import NOT_MEDICAL_ADVICE
from heupreminder.locales import shipped_locale
from heupreminder.reports.care_words import event_details, type_word
from heupreminder.reports.chart import HEIGHT, WIDTH, render_chart
from heupreminder.reports.events import CareReport
from heupreminder.reports.summary_words import number, short_date

CHART_WIDTH_MM = 150  # on A4 (190 mm between the margins), readable without zooming

_L = {
    "nl": {"title": "heupreminder: verslag voor de zorgverlener", "person": "Persoon",
           "period": "Periode", "zone": "Tijdzone", "routines": "Oefeningen en supplementen",
           "routine": "Routine", "done": "Gedaan", "planned": "Verstuurd",
           "rest": "Rust (niet gemist)", "pain": "Pijn",
           "pain_line": "{n} meldingen, gemiddeld {avg}, hoogste {max} (0-10)",
           "no_pain": "Geen pijn gemeld.", "events": "Alle gebeurtenissen",
           "when": "Wanneer", "type": "Soort", "details": "Wat er gebeurde",
           "none": "Geen gebeurtenissen in deze periode.", "page": "pagina",
           "chart": "Pijn en oefeningen per dag, {first} - {last}"},
    "en": {"title": "heupreminder: report for the care provider", "person": "Person",
           "period": "Period", "zone": "Time zone", "routines": "Exercises and supplements",
           "routine": "Routine", "done": "Done", "planned": "Sent",
           "rest": "Rest (not missed)", "pain": "Pain",
           "pain_line": "{n} reports, average {avg}, highest {max} (0-10)",
           "no_pain": "No pain reported.", "events": "All events",
           "when": "When", "type": "Type", "details": "What happened",
           "none": "No events in this period.", "page": "page",
           "chart": "Pain and exercises per day, {first} - {last}"},
}
_SAFE = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-",
                       "•": "-", "…": "...", "×": "x"})


def latin1(text: str) -> str:
    """What the PDF's core fonts can show: typographic quotes made plain, the rest ``?``."""
    return text.translate(_SAFE).encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 8, f"{self.footer_text} - {self.page_no()}/{{nb}}", align="C")


def to_pdf(report: CareReport) -> bytes:
    t = _L[shipped_locale(report.locale)]
    pdf = _Pdf(format="A4")
    pdf.footer_text = latin1(f"{report.name}, {report.first_day} - {report.last_day}")
    pdf.set_title(latin1(f"{t['title']} - {report.name}"))
    pdf.set_author("heupreminder")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()

    def line(text: str, size: int = 10, bold: bool = False, height: float = 6) -> None:
        pdf.set_font("Helvetica", style="B" if bold else "", size=size)
        pdf.multi_cell(0, height, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(t["title"], size=15, bold=True, height=9)
    line(f"{t['person']}: {report.name}")
    line(f"{t['period']}: {report.first_day.isoformat()} - {report.last_day.isoformat()}")
    line(f"{t['zone']}: {report.timezone}")
    pdf.ln(2)
    _chart(pdf, report, t["chart"])
    pdf.ln(3)

    line(t["routines"], size=12, bold=True, height=8)
    pdf.set_font("Helvetica", size=9)
    with pdf.table(col_widths=(70, 30, 30, 40), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                   line_height=5.5, first_row_as_headings=True) as table:
        table.row([t["routine"], t["done"], t["planned"], t["rest"]])
        for r in report.routines:
            table.row([latin1(r.title), str(r.done), str(r.planned), str(r.rest)])
    pdf.ln(3)

    line(t["pain"], size=12, bold=True, height=8)
    pain = report.pain
    if pain.reports and pain.average is not None:
        line(t["pain_line"].format(n=pain.reports, avg=number(pain.average, report.locale),
                                   max=pain.highest))
    else:
        line(t["no_pain"])
    pdf.ln(3)

    line(t["events"], size=12, bold=True, height=8)
    if not report.rows:
        line(t["none"])
    else:
        pdf.set_font("Helvetica", size=8)
        with pdf.table(col_widths=(28, 22, 44, 96), line_height=4.5,
                       first_row_as_headings=True) as table:
            table.row([t["when"], t["type"], t["routine"], t["details"]])
            for row in report.rows:
                routine = report.titles.get(row.routine, row.routine) if row.routine else ""
                table.row([row.at.strftime("%Y-%m-%d %H:%M"),
                           latin1(type_word(row.type, report.locale)), latin1(routine),
                           latin1(event_details(row, report.locale, report.titles))])
    pdf.ln(4)
    line(NOT_MEDICAL_ADVICE[shipped_locale(report.locale)], size=8, height=4.5)
    return bytes(pdf.output())


def _chart(pdf: FPDF, report: CareReport, title: str) -> None:
    """The pain-and-exercise chart over the period, centred, at twice its pixel size."""
    heading = title.format(first=short_date(report.first_day, report.locale),
                           last=short_date(report.last_day, report.locale))
    png = render_chart(report.chart, report.locale, scale=2, title=heading)
    x = (pdf.w - CHART_WIDTH_MM) / 2
    pdf.image(io.BytesIO(png), x=x, w=CHART_WIDTH_MM, h=CHART_WIDTH_MM * HEIGHT / WIDTH,
              alt_text=latin1(heading))
