"""ZVT's code tables: result codes (mapped to ``Reason``), intermediate statuses, terminal states.

Result codes 0x01-0x63 carry the authorisation system's response (ISO 8583 style, the byte
holding the decimal code: 0x33 = 51 "insufficient funds"); 0x64 and above are the
terminal's own (ZVT-CMD's error-message table, as ecrterm lists it). Every code maps to a
``Reason``; codes we do not know map to ``UNMAPPED`` and keep their number in the detail.
Texts are ours, short enough for a cashier's screen, with Chinese where a payer sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

from paychannels.values.reasons import Reason

__all__ = [
    "REQUIRES_REGISTRATION",
    "Meaning",
    "result_meaning",
    "status_text",
    "terminal_status_text",
]

R = Reason


@dataclass(frozen=True, slots=True)
class Meaning:
    """What a result code says, and our reason for it."""

    code: int
    text: str
    reason: Reason

    @property
    def detail(self) -> str:
        """``ZVT 33: insufficient funds`` (for ``Outcome.reason_detail``)."""
        return f"ZVT {self.code:02X}: {self.text}"


_HOST: dict[int, tuple[str, Reason]] = {
    3: ("invalid merchant", R.MERCHANT_MISMATCH),
    4: ("pick up card", R.CARD_DECLINED),
    5: ("do not honour", R.CARD_DECLINED),
    12: ("invalid transaction", R.TRANSACTION_FORBIDDEN),
    13: ("invalid amount", R.LIMIT_EXCEEDED),
    14: ("invalid card number", R.CARD_DECLINED),
    33: ("expired card (pick up)", R.CARD_EXPIRED),
    41: ("lost card", R.SUSPECTED_FRAUD),
    43: ("stolen card", R.SUSPECTED_FRAUD),
    51: ("insufficient funds", R.INSUFFICIENT_FUNDS),
    54: ("expired card", R.CARD_EXPIRED),
    55: ("incorrect PIN", R.PIN_INVALID),
    57: ("transaction not permitted to the cardholder", R.TRANSACTION_FORBIDDEN),
    58: ("transaction not permitted to the terminal", R.TRANSACTION_FORBIDDEN),
    59: ("suspected fraud", R.SUSPECTED_FRAUD),
    61: ("exceeds the amount limit", R.LIMIT_EXCEEDED),
    62: ("restricted card", R.TRANSACTION_FORBIDDEN),
    65: ("exceeds the frequency limit", R.LIMIT_EXCEEDED),
    75: ("PIN tries exceeded", R.PIN_INVALID),
    91: ("issuer unavailable", R.TECHNICAL_ERROR),
    96: ("issuer system malfunction", R.TECHNICAL_ERROR),
}

_TERMINAL: dict[int, tuple[str, Reason]] = {
    0x64: ("card not readable", R.CARD_DECLINED),
    0x65: ("card data not present", R.CARD_DECLINED),
    0x66: ("processing error", R.TERMINAL_ERROR),
    0x67: ("function not permitted for ec and Maestro cards", R.TRANSACTION_FORBIDDEN),
    0x68: ("function not permitted for credit and tank cards", R.TRANSACTION_FORBIDDEN),
    0x6A: ("turnover file full", R.TERMINAL_ERROR),
    0x6B: ("function deactivated (terminal not registered)", R.TERMINAL_ERROR),
    0x6C: ("abort via time-out or abort key", R.CARDHOLDER_ABORT),
    0x6E: ("card in blocked list", R.SUSPECTED_FRAUD),
    0x6F: ("wrong currency", R.TRANSACTION_FORBIDDEN),
    0x71: ("credit not sufficient (chip card)", R.INSUFFICIENT_FUNDS),
    0x72: ("chip error", R.CARD_DECLINED),
    0x73: ("card data incorrect", R.CARD_DECLINED),
    0x77: ("end-of-day batch not possible", R.TERMINAL_ERROR),
    0x78: ("card expired", R.CARD_EXPIRED),
    0x79: ("card not yet valid", R.CARD_DECLINED),
    0x7A: ("card unknown", R.CARD_DECLINED),
    0x7D: ("communication error", R.TECHNICAL_ERROR),
    0x83: ("function not possible", R.TERMINAL_ERROR),
    0x85: ("key missing", R.TERMINAL_ERROR),
    0x89: ("PIN pad defective", R.TERMINAL_ERROR),
    0x9A: ("ZVT protocol error", R.TECHNICAL_ERROR),
    0x9B: ("error from dial-up / communication fault", R.TECHNICAL_ERROR),
    0x9C: ("please wait", R.TERMINAL_BUSY),
    0xA0: ("receiver not ready", R.TECHNICAL_ERROR),
    0xA1: ("remote station does not respond", R.TECHNICAL_ERROR),
    0xA3: ("no connection", R.TECHNICAL_ERROR),
    0xB1: ("memory full", R.TERMINAL_ERROR),
    0xB2: ("merchant journal full", R.TERMINAL_ERROR),
    0xB4: ("already reversed", R.DUPLICATE),
    0xB5: ("reversal not possible", R.TRANSACTION_FORBIDDEN),
    0xB7: ("pre-authorisation incorrect or amount wrong", R.AMOUNT_MISMATCH),
    0xBF: ("voltage supply too low", R.TERMINAL_ERROR),
    0xC0: ("card locking mechanism defective", R.TERMINAL_ERROR),
    0xC1: ("merchant card locked", R.TERMINAL_ERROR),
    0xC2: ("diagnosis required", R.TERMINAL_ERROR),
    0xC3: ("maximum amount exceeded", R.LIMIT_EXCEEDED),
    0xC4: ("card profile invalid", R.TERMINAL_ERROR),
    0xC5: ("payment method not supported", R.TRANSACTION_FORBIDDEN),
    0xC6: ("currency not applicable", R.TRANSACTION_FORBIDDEN),
    0xC8: ("amount too small", R.LIMIT_EXCEEDED),
    0xC9: ("maximum transaction amount too small", R.LIMIT_EXCEEDED),
    0xCC: ("printer not ready", R.TERMINAL_ERROR),
    0xDC: ("card inserted", R.TERMINAL_BUSY),
    0xE2: ("card reader defective", R.TERMINAL_ERROR),
    0xE4: ("terminal activation required", R.TERMINAL_ERROR),
    0xEC: ("PIN processing not possible", R.TERMINAL_ERROR),
    0xED: ("PIN pad defective", R.TERMINAL_ERROR),
    0xF0: ("open end-of-day batch present", R.TERMINAL_ERROR),
    0xFF: ("system error", R.TERMINAL_ERROR),
}

#: ``84 xx`` refusals that mean "register first" (re-register and send again: nothing ran)
REQUIRES_REGISTRATION = frozenset({0x6B})


def result_meaning(code: int) -> Meaning:
    """The meaning of a result code (``27`` BMP, ``06 1E`` abort, ``84 xx`` refusal)."""
    if code == 0:
        return Meaning(0, "approved", R.OTHER)
    if code <= 0x63:
        text, reason = _HOST.get(code, ("declined by the authorisation system", R.CARD_DECLINED))
        return Meaning(code, f"{text} (host code {code:02d})", reason)
    text, reason = _TERMINAL.get(code, ("unlisted terminal error", R.UNMAPPED))
    return Meaning(code, text, reason)


#: intermediate status code -> (English, Chinese)
_STATUS: dict[int, tuple[str, str]] = {
    0x00: ("waiting for amount confirmation", "请确认金额"),
    0x01: ("watch the PIN pad", "请输入密码"),
    0x02: ("watch the PIN pad", "请输入密码"),
    0x03: ("not accepted", "不受理"),
    0x04: ("waiting for the host", "正在连接银行"),
    0x05: ("sending an automatic reversal", "正在自动冲正"),
    0x06: ("sending post-bookings", "正在补发交易"),
    0x07: ("card not admitted", "卡片不受理"),
    0x08: ("card unknown", "未知卡片"),
    0x09: ("card expired", "卡片已过期"),
    0x0A: ("insert card", "请插卡或刷卡"),
    0x0B: ("remove card", "请取卡"),
    0x0C: ("card not readable", "读卡失败"),
    0x0D: ("processing error", "处理错误"),
    0x0E: ("please wait", "请稍候"),
    0x0F: ("automatic end-of-day batch", "正在自动结算"),
    0x10: ("invalid card", "无效卡"),
    0x11: ("balance display", "余额显示"),
    0x12: ("system malfunction", "系统故障"),
    0x13: ("payment not possible", "无法支付"),
    0x14: ("credit not sufficient", "余额不足"),
    0x15: ("incorrect PIN", "密码错误"),
    0x16: ("limit not sufficient", "超出限额"),
    0x17: ("please wait", "请稍候"),
    0x18: ("PIN try limit exceeded", "密码次数超限"),
    0x19: ("card data incorrect", "卡片数据错误"),
    0x1A: ("service mode", "维护模式"),
    0x1B: ("approved, please fill up", "交易成功"),
    0x1C: ("approved, please take goods", "交易成功"),
    0x1D: ("declined", "交易被拒绝"),
    0xC8: ("waiting for the cashier", "等待收银员"),
    0xCA: ("automatic initialisation", "正在初始化"),
    0xD2: ("dialling up", "正在拨号"),
    0xD3: ("connected", "已连接"),
    0xE0: ("choose the application", "请选择应用"),
    0xE1: ("choose the language", "请选择语言"),
    0xF1: ("offline", "离线"),
    0xF2: ("online", "在线"),
    0xF3: ("offline transaction", "离线交易"),
}

#: statuses that prompt for a PIN (a 6C abort after one is a PIN time-out)
PIN_PROMPTS = frozenset({0x01, 0x02, 0x41, 0x42})


def status_text(code: int) -> tuple[str, str]:
    """(English, Chinese) for an intermediate status; 0x40 adds "remove card"."""
    base = _STATUS.get(code)
    if base is None and code & 0x40 and (code & ~0x40) in _STATUS:
        en, zh = _STATUS[code & ~0x40]
        return f"{en}, remove card", f"{zh}，请取卡"
    return base or (f"terminal status {code:02X}", f"终端状态 {code:02X}")


_TERMINAL_STATUS: dict[int, str] = {
    0x00: "ready",
    0x51: "initialisation required",
    0x62: "date/time incorrect",
    0x9C: "please wait (software update running?)",
    0xB1: "memory full",
    0xB2: "merchant journal full",
    0xBF: "voltage supply too low",
    0xC0: "card locking mechanism defective",
    0xC1: "merchant card locked",
    0xC2: "diagnosis required",
    0xC4: "card profile invalid",
    0xCC: "printer not ready",
    0xDC: "card inserted",
    0xDF: "out of order",
    0xE0: "remote maintenance active",
    0xE1: "card not completely removed",
    0xE2: "card reader defective",
    0xE3: "shutter closed",
    0xF6: "OPT data not available",
}


def terminal_status_text(code: int) -> str:
    """The terminal-status byte of a status enquiry, in words."""
    return _TERMINAL_STATUS.get(code, f"unlisted terminal status {code:02X}")
