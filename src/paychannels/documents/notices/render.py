"""Public notice lists as files: printable HTML and CSV, bilingual Chinese / Mongolian.

Each list is one A4-printable HTML page from ``templates/notice.html.j2`` (the Mongolian
title and section names down the left side, vertically, as the script is written; column
headers in both languages) and a CSV with the same lines (UTF-8 with BOM; headers
``中文/ᠮᠣᠩᠭᠣᠯ``). Only ``NoticeLine`` fields are written: masked names and ID
numbers, never an account.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from paychannels.documents.bilingual import mn, zh
from paychannels.documents.htmldoc import render
from paychannels.documents.notices.build import Notice, NoticeLine
from paychannels.runtime.countytime import DEFAULT_ZONE
from paychannels.security.textrules import csv_writer

__all__ = ["COLUMNS", "notice_csv", "notice_html", "write_notices"]

#: the list's columns (keys of paychannels.documents.bilingual)
COLUMNS = ("number", "name", "id", "village", "insurance", "grade", "amount", "period")


def _rows(lines: Iterable[NoticeLine], start: int = 1) -> list[list[object]]:
    return [
        [i, x.name, x.payer, x.village, x.insurance, x.grade, x.amount, x.period]
        for i, x in enumerate(lines, start=start)
    ]


def notice_html(notice: Notice, *, on: date, zone: str = DEFAULT_ZONE) -> str:
    """One list as a printable HTML document, dated ``on`` in the county's ``zone`` (shown)."""
    periods = "、".join(notice.periods)
    groups: dict[tuple[str, str], list[NoticeLine]] = {}
    for line in notice.lines:
        groups.setdefault((line.township, line.village), []).append(line)
    shown, number = [], 1
    for (town, village), lines in groups.items():
        label = " ".join(p for p in (town, village) if p) or notice.place
        shown.append({"label": label, "rows": _rows(lines, number)})
        number += len(lines)
    return render(
        "notice.html.j2",
        subtitle=f"{notice.place} · {periods}",
        posted=on.isoformat(),
        zone=zone,
        periods=periods,
        counts=[
            [t or "—", v or "—", n, paid] for (t, v), (n, paid) in sorted(notice.counts.items())
        ],
        groups=shown,
        columns=COLUMNS,
    )


def notice_csv(notice: Notice, path: Path) -> None:
    """One list as CSV (UTF-8 with BOM, bilingual headers)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv_writer(fh)
        w.writerow(f"{zh(k)}/{mn(k)}" for k in (*COLUMNS[:3], "township", *COLUMNS[3:]))
        w.writerows(
            [i, x.name, x.payer, x.township, x.village, x.insurance, x.grade, x.amount, x.period]
            for i, x in enumerate(notice.lines, start=1)
        )


def write_notices(
    notices: Iterable[Notice], folder: Path, *, on: date, zone: str = DEFAULT_ZONE
) -> list[Path]:
    """Write every list as ``<level>-<place>.html`` and ``.csv``; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for notice in notices:
        html, text = folder / f"{notice.file_stem}.html", folder / f"{notice.file_stem}.csv"
        html.write_text(notice_html(notice, on=on, zone=zone), "utf-8")
        notice_csv(notice, text)
        written += [html, text]
    return written
