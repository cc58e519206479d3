"""Masking of sensitive personal information (PIPL): the one rule for pages, exports, slips and searches.

What a role without the full view sees of a person, everywhere:
- the ID number as 341524********1234: the issuing area and the last four stay visible, and
  the eight hidden digits are exactly the birth date (GB 11643);
- so, beside a masked ID number, never the birth date, nor its year or month: only the age in
  whole years. Age and the check character still leave about 30 possible numbers, so nothing
  shown beside a masked number can rebuild it (the full date, or year and age together, would);
- the phone as 138****5678;
- a search by digits matches only what is shown: at most the last four digits of the ID number
  or of the phone (MASKED_SEARCH_DIGITS). A longer run would confirm hidden digits one at a time.
"""

import datetime

# A search by digits may use no more digits than the masked value shows at its end.
MASKED_SEARCH_DIGITS = 4


def mask_id_number(number: str) -> str:
    """341524********1234: the issuing area and the last four stay visible."""
    if not number or len(number) < 10:
        return number or ""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    """138****5678."""
    if not phone or len(phone) < 7:
        return phone or ""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def shown_id_number(number: str, *, full: bool) -> str:
    """The ID number as a role sees it: whole with the full view, masked otherwise."""
    return number if full else mask_id_number(number)


def shown_phone(phone: str, *, full: bool) -> str:
    """The phone as a role sees it: whole with the full view, masked otherwise."""
    return phone if full else mask_phone(phone)


def shown_birth_date(birth_date: datetime.date | None, *, full: bool) -> datetime.date | None:
    """The birth date only with the full view; None where the ID number is masked (show the age instead)."""
    return birth_date if full else None
