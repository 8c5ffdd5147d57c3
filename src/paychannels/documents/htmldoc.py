"""Printable HTML pages for people, rendered from the Jinja2 templates shipped in ``templates/``.

Reports and public notices are opened on office PCs without internet and printed, so a
page is one self-contained file: inline CSS, inline SVG, no JavaScript, no web fonts. The
markup lives in ``*.html.j2`` files a non-programmer can read and correct; Python hands
them plain values. Every value is escaped (autoescape), a missing one is an error
(``StrictUndefined``), and only text and whole numbers may be printed: a ``None``, a list
or any other object is a ``TypeError``, so a Python repr never reaches a clerk.
"""

from __future__ import annotations

from functools import cache

import jinja2

from paychannels.documents.bilingual import mn, zh

__all__ = ["CJK_FONTS", "MONGOLIAN_FONTS", "render"]

CJK_FONTS = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", '
    '"Microsoft YaHei", "PingFang SC", sans-serif'
)
MONGOLIAN_FONTS = '"Noto Sans Mongolian", "Mongolian Baiti", "Menksoft Qagan", ' + CJK_FONTS


def _plain(value: object) -> object:
    """What a template may print: text, markup a macro made, whole numbers; nothing else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"a template printed a {type(value).__name__}; pass it as text")


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("paychannels.documents", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_plain,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(zh=zh, mn=mn, cjk_fonts=CJK_FONTS, mongolian_fonts=MONGOLIAN_FONTS)
    return env


def render(template: str, **values: object) -> str:
    """The document ``template`` (a file of ``templates/``) filled with ``values``."""
    return _environment().get_template(template).render(**values)
