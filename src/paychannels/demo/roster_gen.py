"""A county's roster, generated: Chinese and Mongolian names, townships, villages, grades.

The demo and the reconciliation benchmark collect from it. Everything follows a seed, so a
run can be repeated: resident ID numbers with their check digits (region 152221, 科尔沁右翼前旗,
birth dates of people aged 16 to 70, unique), names (mostly Chinese, some Mongolian written
in Chinese characters, a few in the traditional Mongolian script), the banner's townships
and villages, urban-rural resident pension grades and the resident medical insurance
contribution, the channel each payer prefers, and bank debit agreements for those who pay
by bank. Written as the roster format of docs/roster.md, Chinese headers, UTF-8.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from paychannels.security.textrules import csv_writer
from paychannels.values.idnumbers import with_check_digit

__all__ = [
    "CHANNEL_SHARES",
    "GRADES",
    "HEADER",
    "TOWNSHIPS",
    "RosterStats",
    "generate_roster",
    "write_bank_roster",
]

REGION = "152221"  # 科尔沁右翼前旗 (Horqin Right Front Banner), Hinggan League
PENSION = "城乡居民基本养老保险"
MEDICAL = "城乡居民基本医疗保险"
#: pension grades (yuan a year) and how many choose each; the lowest are the most common
GRADES: tuple[tuple[str, int, int], ...] = (
    ("一档", 200, 34),
    ("二档", 300, 18),
    ("三档", 400, 12),
    ("四档", 500, 9),
    ("五档", 600, 6),
    ("六档", 700, 5),
    ("七档", 800, 4),
    ("八档", 900, 3),
    ("九档", 1000, 3),
    ("十档", 1500, 2),
    ("十一档", 2000, 2),
    ("十二档", 3000, 2),
)
MEDICAL_YUAN = 400
#: the channels payers prefer (roster names) and their shares
CHANNEL_SHARES: tuple[tuple[str, float], ...] = (
    ("bank", 0.50),
    ("hall", 0.20),
    ("wechat", 0.17),
    ("alipay", 0.13),
)
TOWNSHIPS: tuple[str, ...] = (
    "科尔沁镇",
    "察尔森镇",
    "大坝沟镇",
    "归流河镇",
    "居力很镇",
    "索伦镇",
    "额尔格图镇",
    "德伯斯镇",
    "乌兰毛都苏木",
    "阿力得尔苏木",
    "满族屯满族乡",
    "桃合木苏木",
)
#: how many of the banner's people live in each township (the seat is the largest)
_TOWN_WEIGHTS = (18, 12, 10, 9, 9, 8, 7, 7, 6, 5, 5, 4)
_SURNAMES = (
    "王" * 9
    + "李" * 9
    + "张" * 8
    + "刘" * 7
    + "陈" * 5
    + "杨" * 5
    + "赵" * 4
    + "黄" * 3
    + "周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    + "包白宝吴金韩敖"  # Mongolian families often register these
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏飞建国建华淑珍凤兰志强海燕"
)
_MONGOL_ZH = (
    "巴特尔",
    "乌日娜",
    "其其格",
    "额尔敦",
    "敖日格勒",
    "斯琴",
    "苏日娜",
    "那仁",
    "朝鲁",
    "哈斯",
    "阿拉坦",
    "图雅",
    "萨仁",
    "宝音",
    "孟和",
    "乌兰",
    "格日勒",
    "吉雅",
)
#: names in the traditional Mongolian script (Unicode: Bayar, Sarangerel, Batu, Nara, Altan)
_MONGOL_SCRIPT = ("ᠪᠠᠶᠠᠷ", "ᠰᠠᠷᠠᠩᠭᠡᠷᠡᠯ", "ᠪᠠᠲᠤ", "ᠨᠠᠷᠠ", "ᠠᠯᠲᠠᠨ")
_VILLAGE_HEADS = (
    "巴彦",
    "乌兰",
    "宝力根",
    "哈拉",
    "阿拉坦",
    "新立",
    "永兴",
    "胜利",
    "东升",
    "前进",
    "白音",
    "太平",
    "吉祥",
    "兴安",
    "红旗",
    "民主",
)
_VILLAGE_TAILS = ("嘎查", "村")
_BANK = "105191000011"
#: the roster's Chinese headers, bank columns included (docs/roster.md)
HEADER = (
    "证件号码",
    "姓名",
    "苏木乡镇",
    "嘎查村",
    "险种",
    "缴费档次",
    "应缴金额",
    "缴费期间",
    "缴费方式",
    "银行账号",
    "开户行行号",
    "代扣协议号",
    "协议签订日期",
)


@dataclass
class RosterStats:
    """What a generated roster holds."""

    path: Path
    payers: int
    owed_minor: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    by_township: Counter[str] = field(default_factory=Counter)


def _villages(rnd: random.Random) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for town in TOWNSHIPS:
        heads = rnd.sample(_VILLAGE_HEADS, 6)
        out[town] = [f"{h}{rnd.choice(_VILLAGE_TAILS)}" for h in heads]
    return out


def _name(rnd: random.Random) -> str:
    draw = rnd.random()
    if draw < 0.02:
        return rnd.choice(_MONGOL_SCRIPT)
    if draw < 0.15:
        return rnd.choice(_MONGOL_ZH)
    given = rnd.choice(_GIVEN) + (rnd.choice(_GIVEN) if rnd.random() < 0.7 else "")
    return rnd.choice(_SURNAMES) + given


def _channel(rnd: random.Random) -> str:
    draw = rnd.random()
    for name, share in CHANNEL_SHARES:
        if draw < share:
            return name
        draw -= share
    return CHANNEL_SHARES[-1][0]


def generate_roster(
    path: str | Path, payers: int, *, seed: int = 2026, period: str = "2026", today: date
) -> RosterStats:
    """Write a roster of ``payers`` obligations (one per payer) to ``path``."""
    rnd = random.Random(seed)  # noqa: S311 - test data, not security
    villages = _villages(rnd)
    out = Path(path)
    stats = RosterStats(out, payers)
    oldest, youngest = today.replace(year=today.year - 70), today.replace(year=today.year - 16)
    span = (youngest - oldest).days
    seen: set[str] = set()
    grade_weights = [g[2] for g in GRADES]
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv_writer(fh)
        writer.writerow((*HEADER, "联系电话"))
        for n in range(payers):
            while True:
                born = oldest + timedelta(days=rnd.randrange(span))
                body = f"{REGION}{born:%Y%m%d}{rnd.randrange(1000):03d}"
                payer = with_check_digit(body)
                if payer not in seen:
                    seen.add(payer)
                    break
            town = rnd.choices(TOWNSHIPS, _TOWN_WEIGHTS)[0]
            village = rnd.choice(villages[town])
            if rnd.random() < 0.7:
                kind, (grade, yuan, _w) = PENSION, rnd.choices(GRADES, grade_weights)[0]
            else:
                kind, grade, yuan = MEDICAL, "统一标准", MEDICAL_YUAN
            channel = _channel(rnd)
            bank = ["", "", "", ""]
            if channel == "bank":
                signed = today - timedelta(days=rnd.randrange(30, 900))
                bank = [f"6217{n:015d}", _BANK, f"DK{signed:%Y}{n:08d}", signed.isoformat()]
            phone = f"1{rnd.choice('3578')}{rnd.randrange(10**9):09d}"
            writer.writerow(
                [
                    payer,
                    _name(rnd),
                    town,
                    village,
                    kind,
                    grade,
                    f"{yuan}.00",
                    period,
                    channel,
                    *bank,
                    phone,
                ]
            )
            stats.owed_minor += yuan * 100
            stats.by_channel[channel] += 1
            stats.by_township[town] += 1
    return stats


def write_bank_roster(
    path: str | Path,
    payer_ids: Iterable[str],
    *,
    names: Sequence[str] = ("张三", "李四", "巴特尔", "乌云其木格"),
    towns: Sequence[str] = ("察尔森镇",),
    encoding: str = "utf-8",
) -> None:
    """A plain roster where everyone pays by bank (the i-th payer: grade, account and mandate by i),
    for scale tests and benchmarks that choose their own ID numbers."""
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv_writer(fh)
        writer.writerow(HEADER)
        for i, payer in enumerate(payer_ids):
            grade = 100 * (1 + i % 5)
            writer.writerow(
                [
                    payer,
                    names[i % len(names)] + str(i),
                    towns[i % len(towns)],
                    f"第{i % 30}嘎查",
                    PENSION,
                    f"{grade}元档",
                    f"{grade}.00",
                    "2026",
                    "bank",
                    f"6217000010{i:09d}",
                    _BANK,
                    f"DK2025{i:08d}",
                    "2025-03-01",
                ]
            )
