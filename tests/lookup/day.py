"""A constructed day for the lookup tests: payers in every state a check can show.

1 张小三 owes pension (paid by WeChat Pay at 09:01 Beijing time) and medical (unpaid);
2 ᠪᠠᠲᠤ's payment is UNKNOWN (in progress); 3 王五 paid by bank and was refunded in full;
4 李四 was declined (unpaid). 99 is a valid number that is on no roster.
"""

from __future__ import annotations

from pathlib import Path

from paychannels import Status
from paychannels.documents.payercheck import PayerCheck, PayerIndex
from paychannels.security.payerkey import PayerKey
from tests.reconcile.day import T0, Day, payer

__all__ = ["KEY", "PAYERS", "T0", "check_of", "lookup_day", "payer"]

KEY = PayerKey(bytes(range(32)))
#: number -> (name on the roster, masked name)
PAYERS = {1: ("张小三", "张*三"), 2: ("ᠪᠠᠲᠤ", "ᠪ**ᠤ"), 3: ("王五", "王*"), 4: ("李四", "李*")}


def lookup_day(folder: Path, journal_url: str) -> Day:
    """The roster and journal of the module docstring."""
    day = Day.open(folder, journal_url)
    for n, (name, _masked) in PAYERS.items():
        day.owe(n, {1: "300.00", 2: "200.00", 3: "500.00", 4: "300.00"}[n], name=name)
    day.lines.append(f"{payer(1)},张小三,科尔沁镇,新立村,城乡居民基本医疗保险,,400.00,2026,wx\n")
    day.pay(1, "300.00", channel="wx")
    day.pay(2, "200.00", status=Status.UNKNOWN)
    refunded = day.pay(3, "500.00", channel="bank")
    day.refund(refunded, "500.00", channel="bank")
    day.pay(4, "300.00", status=Status.DECLINED)
    return day


def check_of(day: Day) -> PayerCheck:
    """The check over the day's roster (indexed with ``KEY``) and journal."""
    return PayerCheck(PayerIndex.from_roster(KEY, day.roster), day.journal)


assert T0.hour == 1  # 09:00 in the county: the payment's 09:01 shows as +08:00
