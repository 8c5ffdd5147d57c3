"""The words of the payer's own check, in Chinese and Mongolian (traditional script).

Kept apart from ``bilingual.TEXTS`` (the notices and reports) but written by its rules:
NNBSP before a case suffix, MVS before a separated final vowel. A word the notices and
reports use too is taken from ``TEXTS`` (one spelling, reviewed there); a native speaker
reviews the check's own wording here.
"""

from __future__ import annotations

from paychannels.documents.bilingual import MVS, NNBSP, TEXTS

__all__ = ["CHANNEL_KINDS", "LOOKUP_TEXTS", "both"]

LOOKUP_TEXTS: dict[str, tuple[str, str]] = {
    "title": ("社会保险费缴费信息查询", f"ᠨᠡᠶᠢᠭᠡᠮ{NNBSP}ᠦᠨ ᠳᠠᠭᠠᠳᠬᠠᠯ{NNBSP}ᠤᠨ ᠲᠥᠯᠥᠪᠦᠷᠢ ᠰᠢᠯᠭᠠᠬᠤ"),
    "found": ("查询结果如下", "ᠰᠢᠯᠭᠠᠭᠰᠠᠨ ᠦᠷ᠎ᠡ ᠳᠦᠩ"),
    "not_found": (
        "未查到与该证件号码和姓名相符的缴费信息。请核对后再试，或到苏木乡镇社会保险经办机构咨询。",
        f"ᠡᠨᠡ ᠦᠨᠡᠮᠯᠡᠯ{NNBSP}ᠦᠨ ᠳ᠋ᠤᠭᠠᠷ ᠨᠡᠷ᠎ᠡ{NNBSP}ᠲᠡᠢ ᠲᠣᠬᠢᠷᠠᠬᠤ ᠮᠡᠳᠡᠭᠡ ᠣᠯᠳᠠᠭᠰᠠᠨ ᠦᠭᠡᠢ᠃ "
        f"ᠰᠤᠮᠤ{NNBSP}ᠶᠢᠨ ᠨᠡᠶᠢᠭᠡᠮ{NNBSP}ᠦᠨ ᠳᠠᠭᠠᠳᠬᠠᠯ{NNBSP}ᠤᠨ ᠪᠠᠶᠢᠭᠤᠯᠤᠯᠭ{MVS}ᠠ ᠳᠤ ᠯᠠᠪᠯᠠᠭᠠᠷᠠᠢ᠃",
    ),
    "invalid_id_number": (
        "证件号码格式不正确，请核对后重新输入。",
        f"ᠦᠨᠡᠮᠯᠡᠯ{NNBSP}ᠦᠨ ᠳ᠋ᠤᠭᠠᠷ ᠪᠤᠷᠤᠭᠤ ᠪᠠᠶᠢᠨ᠎ᠠ᠂ ᠳᠠᠬᠢᠨ ᠣᠷᠣᠭᠤᠯᠤᠭᠠᠷᠠᠢ᠃",
    ),
    "invalid_name": ("请输入姓名。", f"ᠨᠡᠷ᠎ᠡ{NNBSP}ᠪᠡᠨ ᠣᠷᠣᠭᠤᠯᠤᠭᠠᠷᠠᠢ᠃"),
    "invalid_body": (
        "请求格式不正确。",
        f"ᠭᠤᠶᠤᠴᠢᠯᠭ{MVS}ᠠ{NNBSP}ᠶᠢᠨ ᠬᠡᠯᠪᠡᠷᠢ ᠪᠤᠷᠤᠭᠤ᠃",
    ),
    "too_many": (
        "查询过于频繁，请稍后再试。",
        "ᠬᠡᠲᠦᠷᠬᠡᠢ ᠣᠯᠠᠨ ᠰᠢᠯᠭᠠᠪᠠ᠂ ᠲᠦᠷ ᠬᠦᠯᠢᠶᠡᠭᠡᠳ ᠳᠠᠬᠢᠨ ᠣᠷᠣᠯᠳᠤᠭᠠᠷᠠᠢ᠃",
    ),
    "unavailable": (
        "查询服务暂时不可用，请稍后再试。",
        "ᠰᠢᠯᠭᠠᠬᠤ ᠦᠢᠯᠡᠴᠢᠯᠡᠭᠡ ᠲᠦᠷ ᠵᠣᠭᠰᠤᠭᠠᠳ ᠪᠠᠶᠢᠨ᠎ᠠ᠃",
    ),
    # states of an obligation
    "paid": TEXTS["paid"],
    "unpaid": ("未缴费", "ᠲᠥᠯᠥᠭᠡ ᠦᠭᠡᠢ"),
    "in_progress": ("缴费处理中", "ᠰᠢᠢᠳᠪᠦᠷᠢᠯᠡᠵᠦ ᠪᠠᠶᠢᠨ᠎ᠠ"),
    "refunded": ("已退费", "ᠪᠤᠴᠠᠭᠠᠭᠰᠠᠨ"),
    # fields
    "id": TEXTS["id"],
    "name": ("姓名", "ᠨᠡᠷ᠎ᠡ"),
    "insurance": TEXTS["insurance"],
    "period": TEXTS["period"],
    "grade": TEXTS["grade"],
    "owed": ("应缴金额", "ᠲᠥᠯᠥᠬᠦ ᠶᠣᠰᠣᠲᠠᠢ"),
    "paid_amount": ("实缴金额", "ᠲᠥᠯᠥᠭᠰᠡᠨ ᠮᠥᠩᠭᠦ"),
    "paid_at": ("缴费时间", "ᠲᠥᠯᠥᠭᠰᠡᠨ ᠴᠠᠭ"),
    "channel": TEXTS["channels"],
    "status": TEXTS["status"],
    "yuan": ("元", "ᠶᠤᠸᠠᠨ"),
}

#: channel kinds a channel's name starts with (``hall-3`` is a hall terminal), and their names
CHANNEL_KINDS: dict[str, tuple[str, str]] = {
    "bank": ("银行代扣", "ᠪᠠᠩᠬᠢ ᠪᠡᠷ ᠲᠥᠯᠥᠭᠰᠡᠨ"),
    "wechat": ("微信支付", "ᠸᠢᠴᠠᠲ ᠲᠥᠯᠥᠪᠦᠷᠢ"),
    "wx": ("微信支付", "ᠸᠢᠴᠠᠲ ᠲᠥᠯᠥᠪᠦᠷᠢ"),
    "alipay": ("支付宝", "ᠠᠯᠢᠫᠠᠢ"),
    "ali": ("支付宝", "ᠠᠯᠢᠫᠠᠢ"),
    "hall": ("服务大厅刷卡", f"ᠦᠢᠯᠡᠴᠢᠯᠡᠭᠡ{NNBSP}ᠶᠢᠨ ᠲᠠᠩᠬᠢᠮ ᠳᠤ ᠺᠠᠷᠲ ᠠᠷ"),
    "field": ("上门收缴", "ᠭᠡᠷ ᠲᠦ ᠢᠷᠡᠵᠦ ᠬᠤᠷᠢᠶᠠᠭᠰᠠᠨ"),
}


def both(key: str) -> dict[str, str]:
    """The text as the answer carries it: ``{"zh": ..., "mn": ...}``."""
    zh, mn = LOOKUP_TEXTS[key]
    return {"zh": zh, "mn": mn}
