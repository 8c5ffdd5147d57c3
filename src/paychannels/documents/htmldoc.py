"""Printable HTML pages for people: bilingual headings, tables, no scripts, nothing fetched.

Reports and public notices are opened on office PCs without internet and printed, so a
page is one self-contained file: inline CSS, inline SVG, no JavaScript, no web fonts. The
fonts are named by family, in stacks that Debian's ``fonts-noto-core`` (Noto Sans
Mongolian) and ``fonts-noto-cjk`` (Noto Sans CJK SC) satisfy, with the usual Windows and
macOS families after them. Mongolian headings are written vertically, top to bottom, as
the script is; every cell is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from paychannels.documents.bilingual import mn, zh

__all__ = ["CJK_FONTS", "MONGOLIAN_FONTS", "bilingual", "page", "section", "table"]

CJK_FONTS = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", '
    '"Microsoft YaHei", "PingFang SC", sans-serif'
)
MONGOLIAN_FONTS = '"Noto Sans Mongolian", "Mongolian Baiti", "Menksoft Qagan", ' + CJK_FONTS

_STYLE = f"""
@page {{ size: A4; margin: 14mm 12mm; }}
body {{ font-family: {CJK_FONTS}; font-size: 10.5pt; color: #111; margin: 1.5em; }}
.mn {{ font-family: {MONGOLIAN_FONTS}; writing-mode: vertical-lr; text-orientation: sideways;
      line-height: 1.25; }}
.sec {{ display: flex; gap: 0.9em; align-items: flex-start; margin: 1.2em 0 0.6em; }}
.sec > .mn {{ font-size: 1.05em; border-right: 1px solid #bbb; padding-right: 0.4em;
      min-height: 4em; }}
.sec > .body {{ flex: 1; min-width: 0; }}
.sec h1, .sec h2 {{ margin: 0 0 0.4em; }}
h1 {{ font-size: 1.7em; }} h2 {{ font-size: 1.25em; }}
table {{ border-collapse: collapse; margin: 0.4em 0 1em; }}
th, td {{ border: 1px solid #777; padding: 0.25em 0.5em; vertical-align: top; }}
th {{ background: #eee; font-weight: 600; text-align: center; }}
th .zh {{ display: block; }} th .mn {{ display: inline-block; max-height: 7em; font-weight: 400;
      font-size: 0.9em; margin-top: 0.2em; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
tr {{ page-break-inside: avoid; }}
.verdict {{ font-size: 1.15em; font-weight: 700; padding: 0.5em 0.8em; border: 2px solid; }}
.ok {{ color: #0a5d1e; border-color: #0a5d1e; }} .bad {{ color: #9b1c1c; border-color: #9b1c1c; }}
.muted {{ color: #555; }} .small {{ font-size: 0.9em; }}
.mn-inline {{ font-family: {MONGOLIAN_FONTS}; }}
@media print {{ body {{ margin: 0; }} h2 {{ page-break-after: avoid; }} }}
"""


def page(title_key: str, body: str, *, subtitle: str = "") -> str:
    """A whole document: bilingual title (``paychannels.documents.bilingual``), then ``body``."""
    sub = f'<p class="muted">{escape(subtitle)}</p>' if subtitle else ""
    return (
        '<!DOCTYPE html>\n<html lang="zh-Hans">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(zh(title_key))}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"{section(title_key, sub, level=1)}\n{body}\n</body>\n</html>\n"
    )


def section(key: str, body: str, *, level: int = 2, extra: str = "") -> str:
    """A bilingual section: its Mongolian title vertically down the left side, as the
    script is written, and the Chinese title over the content beside it."""
    text = escape(zh(key)) + (f" {escape(extra)}" if extra else "")
    return (
        f'<section class="sec" id="{escape(key)}"><div class="mn" lang="mn-Mong">'
        f'{escape(mn(key))}</div><div class="body"><h{level} lang="zh-Hans">{text}</h{level}>'
        f"\n{body}</div></section>\n"
    )


def bilingual(key: str) -> str:
    """A table header cell's content: Chinese, and the Mongolian under it, vertical."""
    return (
        f'<span class="zh" lang="zh-Hans">{escape(zh(key))}</span>'
        f'<span class="mn" lang="mn-Mong">{escape(mn(key))}</span>'
    )


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Iterable[int] = (),
    raw_headers: bool = False,
    cls: str = "",
) -> str:
    """A table; ``headers`` are keys of ``paychannels.documents.bilingual`` unless ``raw_headers``
    (plain texts); cells are escaped, columns in ``numeric`` right-aligned."""
    right = set(numeric)
    head = "".join(f"<th>{escape(h) if raw_headers else bilingual(h)}</th>" for h in headers)
    out = [f'<table class="{escape(cls)}"><thead><tr>{head}</tr></thead><tbody>']
    for row in rows:
        cells = "".join(
            f'<td class="num">{escape(str(v))}</td>' if i in right else f"<td>{escape(str(v))}</td>"
            for i, v in enumerate(row)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>\n")
    return "\n".join(out)
