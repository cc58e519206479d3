"""Masking of sensitive personal information (PIPL): the one rule for pages, exports, slips and searches.

What a role without the full view sees of a person, everywhere:
- the ID number as 341524********1234: the issuing area and the last four stay visible, and
  the eight hidden digits are exactly the birth date (GB 11643);
- so, beside a masked ID number, never the birth date, nor its year or month: only the age in
  whole years. Age and the check character still leave about 30 possible numbers, so nothing
  shown beside a masked number can rebuild it (the full date, or year and age together, would);
- every other identity document (campaign.lib.documents) by the same rule: its start that
  names the kind or the place and its last four stay visible, the middle is hidden, and the
  birth date is never shown beside it. Per type (the table's mask_head, mask_tail):
    - 港澳台居民居住证 810000********1234: as the ID card (the same layout; the hidden eight
      are the birth date);
    - 外国人永久居留身份证: its first three characters and the last four, KAZ********3105 on
      the older card (the nationality letters, shown anyway; the hidden eight hold the issuing
      place and most of the birth date, which are nowhere beside it), 932***********1234 on the
      2023 card (the 9 and the province; the nationality code and birth date hidden);
    - 护照 E****5678, 回乡证 H****5678, 出生医学证明 X*****1001: the first letter and the last four;
    - 台胞证 ****5678: the last four only.
  At least four characters are always hidden: on a short number (a 5-character passport) the
  visible start gives way first, then the end;
- the phone as 138****5678;
- a search by digits matches only what is shown: at most the last four digits of the ID number
  or of the phone (MASKED_SEARCH_DIGITS). A longer run would confirm hidden digits one at a time.
"""

import datetime

# A search by digits may use no more digits than the masked value shows at its end.
MASKED_SEARCH_DIGITS = 4


# The fewest characters a masked document number hides.
MASKED_HIDDEN_MIN = 4


def mask_id_number(number: str) -> str:
    """341524********1234: the issuing area and the last four stay visible."""
    if not number or len(number) < 10:
        return number or ""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_document_number(document_type: str, number: str) -> str:
    """A document number as a role without the full view sees it (the rule per type is above)."""
    from campaign.lib.documents import DOCUMENT_KINDS, DocumentType

    if not number:
        return ""
    kind = DOCUMENT_KINDS.get(str(document_type or DocumentType.ID_CARD), DOCUMENT_KINDS[DocumentType.ID_CARD])
    shown = max(len(number) - MASKED_HIDDEN_MIN, 0)
    tail = min(kind.mask_tail, shown)
    head = min(kind.mask_head, shown - tail)
    return number[:head] + "*" * (len(number) - head - tail) + (number[-tail:] if tail else "")


def mask_phone(phone: str) -> str:
    """138****5678."""
    if not phone or len(phone) < 7:
        return phone or ""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def shown_id_number(number: str, *, full: bool, document_type: str = "id_card") -> str:
    """The document number as a role sees it: whole with the full view, masked otherwise."""
    return number if full else mask_document_number(document_type, number)


def shown_phone(phone: str, *, full: bool) -> str:
    """The phone as a role sees it: whole with the full view, masked otherwise."""
    return phone if full else mask_phone(phone)


def shown_birth_date(birth_date: datetime.date | None, *, full: bool) -> datetime.date | None:
    """The birth date only with the full view; None where the ID number is masked (show the age instead)."""
    return birth_date if full else None


def mask_name(name: str) -> str:
    """张*丰, 李*: the first and last characters of a name with the middle hidden (a two-character
    name keeps its first only), as a public page shows whose booking it is without giving the name."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * min(len(name) - 2, 3) + name[-1]
