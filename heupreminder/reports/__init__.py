"""Seeing progress: the weekly summary, its chart, the history page, the care
provider's report, and export / import of a person's data.

Modules (each small, each with its contract in its docstring):

- ``when``      the ``summary = "sun 18:00"`` config value and its moments in time
- ``summary``   the week's numbers: sessions done / planned per routine, rest days,
                the pain trend, current pauses
- ``texts``     the summary message in Dutch and English
- ``chart``     the 4-week chart (pain per day, sessions done per day) as a PNG
- ``weekly``    queueing summaries in the notices outbox, and preparing them to send
- ``events``    every event of a period for a care provider: rows, CSV and JSON
- ``pdf``       the same report as a PDF
- ``table``     aligned terminal tables (``heupreminder history``)
- ``transfer``  export / import of one person's full data as JSON
- ``cli``       the ``report``, ``export`` and ``import`` commands
- ``web``       the history page ``/h/<token>`` and its chart

This package is imported by the config model (for ``when``), so this file
imports nothing.
"""
