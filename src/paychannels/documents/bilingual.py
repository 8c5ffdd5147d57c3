"""Chinese and Mongolian (traditional script) wording of what the library prints for people.

Public notices in Inner Mongolia are bilingual; so are the reports. Every text is here, in
one table, as (Chinese, Mongolian) — so a native speaker can review and correct the
Mongolian in one place. Mongolian is written in Unicode's Mongolian block, with the narrow
no-break space (U+202F) before case suffixes and the Mongolian vowel separator (U+180E)
before a separated final vowel, as the script requires.
"""

from __future__ import annotations

__all__ = ["MVS", "NNBSP", "TEXTS", "mn", "zh"]

NNBSP = "\u202f"  # before a case suffix: ᠨᠡᠶᠢᠭᠡᠮ + NNBSP + ᠦᠨ
MVS = "\u180e"  # Mongolian vowel separator: ᠭᠠᠴᠠᠭ + MVS + ᠠ
#: dugar (number): d with free variation selector one, the d form before u
DUGAR = "\u1833\u180b\u1824\u182d\u1820\u1837"

TEXTS: dict[str, tuple[str, str]] = {
    # documents
    "reconciliation": ("社会保险费对账报告", "ᠳᠠᠩᠰᠠ ᠲᠤᠯᠭᠠᠬᠤ ᠮᠡᠳᠡᠭᠦᠯᠦᠯ"),
    "notice": (
        "社会保险费缴费公示",
        f"ᠨᠡᠶᠢᠭᠡᠮ{NNBSP}ᠦᠨ ᠳᠠᠭᠠᠳᠬᠠᠯ{NNBSP}ᠤᠨ ᠲᠥᠯᠥᠪᠦᠷᠢ ᠲᠥᠯᠥᠭᠰᠡᠳ{NNBSP}ᠦᠨ ᠵᠠᠷᠯᠠᠯ",
    ),
    # sections
    "summary": ("汇总", "ᠬᠤᠷᠢᠶᠠᠩᠭᠤᠢ"),
    "progress": (
        "各苏木乡镇收缴进度",
        f"ᠰᠤᠮᠤ ᠪᠦᠷᠢ{NNBSP}ᠶᠢᠨ ᠲᠥᠯᠥᠪᠦᠷᠢ ᠬᠤᠷᠢᠶᠠᠯᠲᠠ{NNBSP}ᠶᠢᠨ ᠶᠠᠪᠤᠴᠠ",
    ),
    "settlements": ("渠道结算核对", f"ᠰᠤᠪᠠᠭ{NNBSP}ᠤᠨ ᠲᠤᠭᠤᠴᠠᠭ{MVS}ᠠ ᠲᠤᠯᠭᠠᠯᠲᠠ"),
    # money arriving on the collection account (to be reviewed by a native speaker)
    "arrivals": ("资金到账核对", f"ᠮᠦᠩᠭᠦ ᠳᠠᠩᠰᠠ{NNBSP}ᠳᠤ ᠣᠷᠣᠭᠰᠠᠨ ᠲᠤᠯᠭᠠᠯᠲᠠ"),
    "operators": ("收缴人员", "ᠬᠤᠷᠢᠶᠠᠭᠴᠢ ᠠᠵᠢᠯᠲᠠᠨ"),
    "channels": ("缴费渠道", f"ᠲᠥᠯᠥᠪᠦᠷᠢ{NNBSP}ᠶᠢᠨ ᠰᠤᠪᠠᠭ"),
    "periods": ("缴费期间", f"ᠬᠤᠭᠤᠴᠠᠭ{MVS}ᠠ"),
    "attention": ("需要处理的事项", "ᠠᠩᠬᠠᠷᠬᠤ ᠴᠢᠬᠤᠯᠠ ᠵᠦᠢᠯ"),
    # columns
    "number": ("序号", "ᠳᠠᠷᠠᠭᠠᠯᠠᠯ"),
    "name": ("姓名", "ᠨᠡᠷᠡ"),
    "id": ("证件号码", f"ᠦᠨᠡᠮᠯᠡᠯ{NNBSP}ᠦᠨ {DUGAR}"),
    "county": ("旗县", "ᠬᠣᠰᠢᠭᠤ"),
    "township": ("苏木乡镇", "ᠰᠤᠮᠤ"),
    "village": ("嘎查村", f"ᠭᠠᠴᠠᠭ{MVS}ᠠ"),
    "insurance": ("险种", f"ᠳᠠᠭᠠᠳᠬᠠᠯ{NNBSP}ᠤᠨ ᠲᠥᠷᠥᠯ"),
    "grade": ("缴费档次", "ᠵᠡᠷᠭᠡ"),
    "amount": ("缴费金额", "ᠲᠥᠯᠥᠭᠰᠡᠨ ᠮᠥᠩᠭᠦ"),
    "period": ("缴费期间", f"ᠬᠤᠭᠤᠴᠠᠭ{MVS}ᠠ"),
    "status": ("状态", "ᠪᠠᠶᠢᠳᠠᠯ"),
    "paid": ("已缴费", "ᠲᠥᠯᠥᠭᠰᠡᠨ"),
    "payers": ("人数", f"ᠬᠦᠮᠦᠨ{NNBSP}ᠦ ᠲᠣᠭ{MVS}ᠠ"),
    "owed": ("应缴", "ᠲᠥᠯᠥᠬᠦ ᠶᠣᠰᠣᠲᠠᠢ"),
    "received": ("实收", "ᠬᠤᠷᠢᠶᠠᠭᠰᠠᠨ"),
    "total": ("合计", "ᠨᠡᠶᠢᠲᠡ"),
    "date": ("公示日期", "ᠡᠳᠦᠷ"),
    "notice_period": (
        "公示期七天。如有异议，请向苏木乡镇社会保险经办机构反映。",
        f"ᠵᠠᠷᠯᠠᠯ{NNBSP}ᠤᠨ ᠬᠤᠭᠤᠴᠠᠭ{MVS}ᠠ ᠳᠣᠯᠣᠭᠠᠨ ᠡᠳᠦᠷ",
    ),
}


def zh(key: str) -> str:
    """The Chinese text."""
    return TEXTS[key][0]


def mn(key: str) -> str:
    """The Mongolian text (traditional script)."""
    return TEXTS[key][1]
