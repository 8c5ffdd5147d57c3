"""Public notice lists: who has paid, per county, township or village, names and IDs masked.

``build_notices(reconciliation, Level.VILLAGE)`` makes the lists from a reconciliation
(``iter_notices`` one at a time, read village by village: a province's in flat memory);
``write_notices`` writes each as printable HTML and CSV with bilingual Chinese / Mongolian
(traditional script) headings. See docs/notices.md.
"""

from __future__ import annotations

from paychannels.documents.notices.build import (
    HAS_PAID,
    Level,
    Notice,
    NoticeLine,
    build_notices,
    iter_notices,
)
from paychannels.documents.notices.render import notice_csv, notice_html, write_notices

__all__ = [
    "HAS_PAID",
    "Level",
    "Notice",
    "NoticeLine",
    "build_notices",
    "iter_notices",
    "notice_csv",
    "notice_html",
    "write_notices",
]
