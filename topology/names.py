"""Plausible Chinese names, phone numbers and place names for generated sites.

Layer: pure core (used by :mod:`topology.generate`); randomness comes from the
caller's NumPy generator so a seed always gives the same names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Common surnames, most frequent first (Shanxi has many 王, 李, 张, 刘, 郭).
SURNAMES = (
    "王李张刘郭赵杨陈吴牛贾郝马韩任宋武孙高田梁徐胡周朱申程秦史冯常段乔"
    "范董侯白薛卫魏崔杜曹许贺石苏姚潘康靳霍阎郑吕路连温"
)
_SURNAME_WEIGHTS = np.linspace(3.0, 1.0, len(SURNAMES))
_SURNAME_P = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国红梅玉兰志文"
    "海燕宏波鹏辉晓东俊峰婷雪琴玲斌浩宇亮彬晨萍慧丹凤云飞鑫龙林瑞家佳欣"
)
# fmt: off
MOBILE_PREFIXES = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "156", "157", "158", "159", "176", "177", "178", "180", "182", "183", "185", "186",
    "187", "188", "189", "199",
)
COMPOUND_NAMES = (
    "五阳新村", "矿工小区", "和谐家园", "阳光花园", "康乐小区", "福源小区", "新华苑",
    "建设小区", "文化苑", "滨河小区", "锦绣园", "丽景园", "惠民小区", "幸福里",
)
PROPERTY_COMPANY_NAMES = (
    "宏远物业服务有限公司", "安居物业服务有限公司", "诚信物业管理有限公司",
    "恒泰物业服务有限公司", "鑫源物业服务有限公司", "晋阳物业管理有限公司",
    "永安物业服务有限公司", "华宇物业服务有限公司",
)
RELATIONS = ("儿子", "女儿", "儿媳", "女婿", "侄子", "外甥女", "孙子")
# fmt: on
_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1-99 written in Chinese numerals (一, 十, 十二, 二十, 九十九)."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    head = "" if tens == 1 else _DIGITS[tens]
    return head + "十" + (_DIGITS[ones] if ones else "")


class NameMaker:
    """Draws names and phone numbers, never the same twice within one site."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._names: set[str] = set()
        self._phones: set[str] = set()

    def person(self) -> str:
        """A full name such as 王建国 or 李娜, unique within this maker."""
        for _ in range(1000):
            surname = SURNAMES[int(self.rng.choice(len(SURNAMES), p=_SURNAME_P))]
            given_len = 1 if self.rng.random() < 0.3 else 2
            given = "".join(
                GIVEN_CHARS[int(i)] for i in self.rng.integers(0, len(GIVEN_CHARS), given_len)
            )
            name = surname + given
            if name not in self._names:
                self._names.add(name)
                return name
        return name  # a huge site: a repeated name is harmless

    def phone(self) -> str:
        """An 11-digit mainland mobile number, unique within this maker."""
        while True:
            prefix = MOBILE_PREFIXES[int(self.rng.integers(0, len(MOBILE_PREFIXES)))]
            number = prefix + "".join(str(int(d)) for d in self.rng.integers(0, 10, 8))
            if number not in self._phones:
                self._phones.add(number)
                return number

    def pick(self, names: Sequence[str], n: int, overflow_suffix: str) -> list[str]:
        """``n`` distinct names from ``names`` in random order; more than there are get a number.

        Args:
            names: the list to draw from.
            n: how many.
            overflow_suffix: appended with a number when ``n > len(names)``
                (e.g. ``二期`` style names become ``阳光花园2期``).
        """
        order = [names[int(i)] for i in self.rng.permutation(len(names))]
        out = order[:n]
        k = 0
        while len(out) < n:
            out.append(f"{order[k % len(order)]}{k // len(order) + 2}{overflow_suffix}")
            k += 1
        return out
