"""Pinyin initials of Chinese names, for search ("zsf" finds 张三丰)."""

from functools import lru_cache

from pypinyin import Style, lazy_pinyin

# Surnames that read differently from the same character in ordinary words.
SURNAME_INITIALS = {"单": "s", "曾": "z", "仇": "q", "解": "x", "区": "o", "查": "z", "朴": "p", "盖": "g", "尉": "y"}


@lru_cache(maxsize=20000)
def _initial(char: str) -> str:
    letters = lazy_pinyin(char, style=Style.FIRST_LETTER, errors="ignore")
    return (letters[0] if letters else "").lower()


def name_initials(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return ""
    first = SURNAME_INITIALS.get(name[0]) or _initial(name[0])
    rest = "".join(_initial(char) if not char.isascii() else char.lower() for char in name[1:] if not char.isspace())
    return (first + rest)[:20]
