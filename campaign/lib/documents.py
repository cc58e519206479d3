"""Identity documents (证件): the one table of the documents a resident may register with.

Each type says how its number is written, whether the number encodes the birth date and sex
(then they are read from it, never typed) and whether a nationality is recorded. Two calls:

- `parse_document(document_type, raw, *, today=None) -> Document`: the number alone, cleaned
  and checked (the form's preview as it is typed, the importer's number cell). Raises
  ValidationError with the type's own message.
- `document_identity(document_type, raw, *, birth_date=None, sex=None, nationality="",
  today=None) -> Document`: the number plus what the person registering entered, complete:
  birth date, sex and nationality are always set on what it returns. Raises ValidationError
  keyed by field ("id_number", "birth_date", "sex", "nationality") so a form puts each message
  at its field. residents.services calls it for every registration.

Decisions (DOMAIN.md, "Other identity documents"):
- 居民身份证: 18 characters, GB 11643 check (campaign.lib.idnumber); the area code never refuses
  a number. An old 15-digit number is converted to 18 (``19`` inserted before the year, the
  check character computed): the 18-digit form is what is stored, and the Document's `note`
  says so to the person registering. A number chosen as an ID card that is really a residence
  permit (810000/820000/830000) or a 2023 foreign permanent residence card (first digit 9) is
  recorded as that document, with a note: no ID card has those prefixes, and a sheet with only
  a 身份证号码 column keeps importing such numbers as it did, now under their right type.
- 港澳台居民居住证: 18 characters in the GB 11643 layout, area 810000 (Hong Kong), 820000
  (Macao) or 830000 (Taiwan); birth date and sex in the number.
- 外国人永久居留身份证: the 2023 card has 18 characters: ``9``, the province that accepted it
  (2 digits), the nationality as the ISO 3166 numeric code (3), the birth date (8), a sequence
  (3, odd for men) and the GB 11643 check character (ISO 7064 MOD 11-2, as the National
  Immigration Administration's 2023 machine-reading rules say). Birth date, sex and nationality
  are read from it. The older card has 15 characters, three letters (the ISO 3166 alpha-3
  nationality, read from it) and 12 digits. Its digits hold the birth date without its century
  and not the sex, in a layout the issuer never published as a standard, so birth date and sex
  are *entered* for it, not read.
- 护照: letters and digits as printed (5-17); birth date, sex and nationality entered.
- 港澳居民来往内地通行证 (回乡证): H (Hong Kong) or M (Macao) and 8 digits (10 when the card's
  two-digit issue count is written after them); birth date and sex entered.
- 台湾居民来往大陆通行证 (台胞证): 8 digits (10 on older booklets); birth date and sex entered.
- 出生医学证明: one letter and 9 digits (the letter is the print batch: O, P, Q ... X); birth
  date and sex entered.

Numbers are cleaned the same way for every type: full-width characters, spaces and invisible
characters out, lowercase letters up.
"""

import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, override
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

from campaign.lib.idnumber import Sex, parse_id_number
from campaign.lib.text import strip_invisible

# The widest number any type allows (a passport's 17 characters, with room to spare).
DOCUMENT_NUMBER_MAX_LENGTH = 20
OLDEST_BIRTH_YEAR = 1880


class DocumentType(models.TextChoices):
    ID_CARD = "id_card", _("resident ID card")
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit", _("residence permit for Hong Kong, Macao and Taiwan residents")
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence", _("foreign permanent resident ID card")
    PASSPORT = "passport", _("passport")
    HK_MO_TRAVEL_PERMIT = "hk_mo_travel_permit", _("Mainland travel permit for Hong Kong and Macao residents")
    TW_TRAVEL_PERMIT = "tw_travel_permit", _("Mainland travel permit for Taiwan residents")
    BIRTH_CERTIFICATE = "birth_certificate", _("birth certificate")


@dataclass(frozen=True)
class Document:
    """A checked document number and what is known of its holder.

    `birth_date` and `sex` are None where the number does not encode them and nothing was
    entered (parse_document); `nationality` is an ISO 3166 alpha-3 code or "". `note` is a
    sentence for the person registering (a converted 15-digit number, a changed type), or "".
    """

    type: str
    number: str
    birth_date: datetime.date | None = None
    sex: str | None = None
    encodes_birth: bool = False
    note: str = ""
    nationality: str = ""

    @property
    def label(self) -> str:
        return str(DocumentType(self.type).label)

    @property
    def short_label(self) -> str:
        return DOCUMENT_KINDS[self.type].short


class Nationality(models.TextChoices):
    """How a type records nationality: never (Chinese documents), read from the number, or entered."""

    NONE = "none"
    FROM_NUMBER = "from_number"  # entered only when the number's code is unknown
    ENTERED = "entered"


@dataclass(frozen=True)
class DocumentKind:
    """One row of the table: a type, how its number is read and what else is asked."""

    type: str
    parse: Callable[[str, datetime.date], Document]
    # True: birth date and sex always come from the number; False: always entered;
    # None: it depends on the number (the 2023 foreign card encodes them, the older one does not).
    encodes_birth: bool | None
    nationality: str
    # The database's shape check for the stored number (residents.models).
    shape: str
    # What a masked number keeps visible at its start and its end (campaign.lib.masking).
    mask_head: int
    mask_tail: int = 4
    # Shown in the empty number field.
    placeholder: str = ""  # a lazy translation
    # A narrow table's column, a badge beside a number (a lazy translation; the label when empty).
    short_label: str = ""
    # What a cadre may write in a sheet's 证件类型 column besides the label.
    aliases: tuple[str, ...] = field(default=())
    # The lengths a whole number may have, shortest first: the form's preview judges a number
    # typed to one of them (or longer), and counts characters before.
    preview_lengths: tuple[int, ...] = (18,)

    @property
    def label(self) -> str:
        return str(DocumentType(self.type).label)

    @property
    def short(self) -> str:
        return str(self.short_label or self.label)

    @property
    def records_nationality(self) -> bool:
        return self.nationality != Nationality.NONE


# --- numbers -------------------------------------------------------------------------------


def normalize_document_number(raw) -> str:
    """Full-width characters, spaces and invisible characters out, lowercase letters up."""
    text = unicodedata.normalize("NFKC", strip_invisible(str(raw or "")))
    return re.sub(r"\s+", "", text).upper()


# Hong Kong, Macao, Taiwan.
HMT_AREAS = frozenset({"810000", "820000", "830000"})
_GB11643 = re.compile(r"^[0-9]{17}[0-9X]$")


def _birth_and_sex(number: str, today: datetime.date, *, start: int = 6) -> tuple[datetime.date, str]:
    """The birth date (8 digits from `start`) and sex (the 17th digit's parity) of a GB 11643-layout number."""
    digits = number[start : start + 8]
    try:
        birth_date = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValidationError(
            _("The birth date in the number (%(digits)s) is not a real date."),
            code="date",
            params={"digits": digits},
        ) from None
    if birth_date > today or birth_date.year < OLDEST_BIRTH_YEAR:
        raise ValidationError(
            _("The birth date in the number (%(date)s) cannot be right."),
            code="future",
            params={"date": birth_date.isoformat()},
        )
    return birth_date, Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE


def _check_character(number: str) -> None:
    if ric.calc_check_digit(number) != number[-1]:
        raise ValidationError(
            _("The check character (last character) is wrong: the number was mistyped somewhere."),
            code="checksum",
        )


def _parse_id_card(number: str, today: datetime.date) -> Document:
    note = ""
    if len(number) == 15:
        if not number.isdigit():
            raise ValidationError(_("An old 15-digit ID number has digits only."), code="format")
        old = number
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
        note = _(
            "The old 15-digit ID number %(old)s was converted to its 18-digit form %(new)s, which is what is recorded."
        ) % {"old": old, "new": number}
    elif len(number) != 18:
        raise ValidationError(
            _("A resident ID number has 18 characters (old ones 15); this one has %(count)d."),
            code="length",
            params={"count": len(number)},
        )
    # No ID card starts with these: the number is another document in the same layout.
    if number[:6] in HMT_AREAS and _GB11643.match(number):
        found = _parse_hmt_permit(number, today)
        return replace(found, note=_changed_type_note(found))
    if number[0] == "9" and _GB11643.match(number):
        found = _parse_foreign_card(number, today)
        return replace(found, note=_changed_type_note(found))
    parsed = parse_id_number(number, today=today)
    return Document(
        DocumentType.ID_CARD, parsed.number, parsed.birth_date, parsed.sex, encodes_birth=True, note=str(note)
    )


def _changed_type_note(document: Document) -> str:
    return str(
        _("This number is a %(document)s, not a resident ID card: it is recorded as one.")
        % {"document": document.label}
    )


def _parse_hmt_permit(number: str, today: datetime.date) -> Document:
    if len(number) != 18 or number[:6] not in HMT_AREAS or not _GB11643.match(number):
        raise ValidationError(
            _(
                "A residence permit number for Hong Kong, Macao and Taiwan residents has 18 characters and "
                "starts with 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan)."
            ),
            code="format",
        )
    _check_character(number)
    birth_date, sex = _birth_and_sex(number, today)
    return Document(DocumentType.HMT_RESIDENCE_PERMIT, number, birth_date, sex, encodes_birth=True)


_OLD_FOREIGN_CARD = re.compile(r"^[A-Z]{3}[0-9]{12}$")


def _parse_foreign_card(number: str, today: datetime.date) -> Document:
    shape = _(
        "A foreign permanent resident ID card number has 18 characters starting with 9 (the 2023 card), "
        "or 15: three letters and 12 digits (the older card)."
    )
    if len(number) == 18:
        if number[0] != "9" or not _GB11643.match(number):
            raise ValidationError(shape, code="format")
        _check_character(number)
        birth_date, sex = _birth_and_sex(number, today)
        nationality = nationality_from_numeric(number[3:6])
        return Document(
            DocumentType.FOREIGN_PERMANENT_RESIDENCE,
            number,
            birth_date,
            sex,
            encodes_birth=True,
            nationality=nationality,
        )
    if len(number) == 15 and _OLD_FOREIGN_CARD.match(number):
        if number[:3] not in nationality_codes():
            raise ValidationError(
                _("%(code)s, the first three letters of the card number, is not a country code."),
                code="nationality",
                params={"code": number[:3]},
            )
        return Document(DocumentType.FOREIGN_PERMANENT_RESIDENCE, number, nationality=number[:3])
    raise ValidationError(shape, code="format")


_PASSPORT = re.compile(r"^[A-Z0-9]{5,17}$")


def _parse_passport(number: str, today: datetime.date) -> Document:
    if not _PASSPORT.match(number) or not any(char.isdigit() for char in number):
        raise ValidationError(
            _("A passport number is 5 to 17 letters and digits, as printed on the passport."), code="format"
        )
    return Document(DocumentType.PASSPORT, number)


_HK_MO_PERMIT = re.compile(r"^[HM]([0-9]{8}|[0-9]{10})$")


def _parse_hk_mo_permit(number: str, today: datetime.date) -> Document:
    if not _HK_MO_PERMIT.match(number):
        raise ValidationError(
            _(
                "A Mainland travel permit for Hong Kong and Macao residents is H (Hong Kong) or M (Macao) "
                "followed by 8 digits (10 with the card's issue count)."
            ),
            code="format",
        )
    return Document(DocumentType.HK_MO_TRAVEL_PERMIT, number)


_TW_PERMIT = re.compile(r"^([0-9]{8}|[0-9]{10})$")


def _parse_tw_permit(number: str, today: datetime.date) -> Document:
    if not _TW_PERMIT.match(number):
        raise ValidationError(
            _("A Mainland travel permit for Taiwan residents has 8 digits (10 on older permits)."), code="format"
        )
    return Document(DocumentType.TW_TRAVEL_PERMIT, number)


_BIRTH_CERTIFICATE = re.compile(r"^[A-Z][0-9]{9}$")


def _parse_birth_certificate(number: str, today: datetime.date) -> Document:
    if not _BIRTH_CERTIFICATE.match(number):
        raise ValidationError(
            _("A birth certificate number is one letter followed by 9 digits, as printed at its lower right."),
            code="format",
        )
    return Document(DocumentType.BIRTH_CERTIFICATE, number)


DOCUMENT_KINDS: dict[str, DocumentKind] = {
    kind.type: kind
    for kind in [
        DocumentKind(
            DocumentType.ID_CARD,
            _parse_id_card,
            encodes_birth=True,
            nationality=Nationality.NONE,
            shape=r"^[0-9]{17}[0-9X]$",
            mask_head=6,
            placeholder=_("18 characters (old cards 15)"),
            short_label=_("ID card"),
            preview_lengths=(15, 18),
            aliases=("身份证", "居民身份证", "身份证号", "身份证号码", "公民身份号码", "二代身份证"),
        ),
        DocumentKind(
            DocumentType.HMT_RESIDENCE_PERMIT,
            _parse_hmt_permit,
            encodes_birth=True,
            nationality=Nationality.NONE,
            shape=r"^8[123]0000[0-9]{11}[0-9X]$",
            mask_head=6,
            placeholder=_("18 characters starting with 810000, 820000 or 830000"),
            short_label=_("HK/Macao/Taiwan residence permit"),
            aliases=("港澳台居民居住证", "港澳居民居住证", "台湾居民居住证", "居住证", "港澳台居住证"),
        ),
        DocumentKind(
            DocumentType.FOREIGN_PERMANENT_RESIDENCE,
            _parse_foreign_card,
            encodes_birth=None,
            nationality=Nationality.FROM_NUMBER,
            shape=r"^(9[0-9]{16}[0-9X]|[A-Z]{3}[0-9]{12})$",
            mask_head=3,
            placeholder=_("18 characters starting with 9, or 3 letters and 12 digits"),
            short_label=_("permanent residence card"),
            preview_lengths=(15, 18),
            aliases=("外国人永久居留身份证", "外国人永久居留证", "永久居留身份证", "永居证", "绿卡"),
        ),
        DocumentKind(
            DocumentType.PASSPORT,
            _parse_passport,
            encodes_birth=False,
            nationality=Nationality.ENTERED,
            shape=r"^[A-Z0-9]{5,17}$",
            mask_head=1,
            placeholder=_("as printed in the passport"),
            preview_lengths=tuple(range(5, 18)),
            aliases=("护照", "外国护照", "中国护照"),
        ),
        DocumentKind(
            DocumentType.HK_MO_TRAVEL_PERMIT,
            _parse_hk_mo_permit,
            encodes_birth=False,
            nationality=Nationality.NONE,
            shape=r"^[HM]([0-9]{8}|[0-9]{10})$",
            mask_head=1,
            placeholder=_("H or M and 8 digits"),
            short_label=_("Home Return Permit"),
            preview_lengths=(9, 11),
            aliases=("港澳居民来往内地通行证", "回乡证", "港澳通行证", "港澳居民通行证"),
        ),
        DocumentKind(
            DocumentType.TW_TRAVEL_PERMIT,
            _parse_tw_permit,
            encodes_birth=False,
            nationality=Nationality.NONE,
            shape=r"^([0-9]{8}|[0-9]{10})$",
            mask_head=0,
            placeholder=_("8 digits"),
            short_label=_("Taiwan compatriot permit"),
            preview_lengths=(8, 10),
            aliases=("台湾居民来往大陆通行证", "台胞证", "台湾通行证", "台湾居民通行证"),
        ),
        DocumentKind(
            DocumentType.BIRTH_CERTIFICATE,
            _parse_birth_certificate,
            encodes_birth=False,
            nationality=Nationality.NONE,
            shape=r"^[A-Z][0-9]{9}$",
            mask_head=1,
            placeholder=_("one letter and 9 digits"),
            preview_lengths=(10,),
            aliases=("出生医学证明", "出生证", "出生证明", "出生医学证明编号"),
        ),
    ]
}
assert set(DOCUMENT_KINDS) == set(DocumentType.values), "every document type has its row"


def document_kind(document_type) -> DocumentKind:
    """The table's row of a type; ValidationError (code "document_type") for an unknown type."""
    kind = DOCUMENT_KINDS.get(str(document_type or ""))
    if kind is None:
        raise ValidationError(
            _("%(type)s is not a document type this campaign registers."),
            code="document_type",
            params={"type": document_type},
        )
    return kind


def parse_document(document_type, raw, *, today: datetime.date | None = None) -> Document:
    """Clean and check a document number of a type: the number alone.

    Returns the Document, with birth date and sex where the number encodes them (None
    otherwise), the nationality where the number holds it, and a note where the number was
    converted (15-digit ID) or recorded under another type. The returned `type` is the one to
    store. Raises ValidationError with the type's own message (codes "required", "length",
    "format", "checksum", "date", "future", "nationality", "document_type").
    """
    kind = document_kind(document_type)
    number = normalize_document_number(raw)
    if not number:
        raise ValidationError(_("Enter the document number."), code="required")
    if len(number) > DOCUMENT_NUMBER_MAX_LENGTH:
        raise ValidationError(
            _("A document number has at most %(max)d characters; this one has %(count)d."),
            code="length",
            params={"max": DOCUMENT_NUMBER_MAX_LENGTH, "count": len(number)},
        )
    return kind.parse(number, today or timezone.localdate())


def document_identity(
    document_type,
    raw,
    *,
    birth_date: datetime.date | None = None,
    sex: str | None = None,
    nationality: str = "",
    today: datetime.date | None = None,
) -> Document:
    """A document with everything registration records: number, birth date, sex, nationality.

    Where the number encodes birth date and sex they are read from it and what was entered is
    ignored; where it does not, they must be entered (a real date, not in the future, after
    1880; sex "M" or "F"). Nationality is recorded for foreign documents only: read from the
    number when it holds it (an entered one must then agree), entered otherwise.
    Raises ValidationError keyed by field: "id_number", "birth_date", "sex", "nationality".
    """
    today = today or timezone.localdate()
    try:
        document = parse_document(document_type, raw, today=today)
    except ValidationError as error:
        raise ValidationError({"id_number": error}) from None
    kind = DOCUMENT_KINDS[document.type]
    errors = {}
    if not document.encodes_birth:
        if birth_date is None:
            errors["birth_date"] = ValidationError(
                _("Enter the birth date: a %(document)s does not show it in its number."),
                code="required",
                params={"document": kind.label},
            )
        elif birth_date > today or birth_date.year < OLDEST_BIRTH_YEAR:
            errors["birth_date"] = ValidationError(
                _("The birth date %(date)s cannot be right."), code="future", params={"date": birth_date.isoformat()}
            )
        if sex not in (Sex.MALE, Sex.FEMALE):
            errors["sex"] = ValidationError(
                _("Enter the sex: a %(document)s does not show it in its number."),
                code="required",
                params={"document": kind.label},
            )
        document = replace(document, birth_date=birth_date, sex=sex)
    if kind.records_nationality:
        entered = ""
        try:
            entered = parse_nationality(nationality) if nationality else ""
        except ValidationError as error:
            errors["nationality"] = error
        if document.nationality and entered and entered != document.nationality:
            errors["nationality"] = ValidationError(
                _("The card number says the nationality is %(nationality)s."),
                code="mismatch",
                params={"nationality": nationality_name(document.nationality)},
            )
        elif not document.nationality:
            if entered:
                document = replace(document, nationality=entered)
            elif "nationality" not in errors:
                errors["nationality"] = ValidationError(
                    _("Enter the nationality of a %(document)s holder."),
                    code="required",
                    params={"document": kind.label},
                )
    if errors:
        raise ValidationError(errors)
    return document


def make_document_number(document_type, *, sequence: int = 1, birth_date: datetime.date | None = None) -> str:
    """A valid number of a type, built from a sequence (demo data and tests)."""
    birth_date = birth_date or datetime.date(1990, 1, 1)
    if document_type == DocumentType.ID_CARD:
        from campaign.lib.idnumber import make_id_number

        return make_id_number("341524", birth_date, sequence % 999 + 1)
    if document_type in (DocumentType.HMT_RESIDENCE_PERMIT, DocumentType.FOREIGN_PERMANENT_RESIDENCE):
        # A Hong Kong permit; a 2023 foreign card accepted in Jiangsu (32) for a Japanese national (392).
        prefix = "810000" if document_type == DocumentType.HMT_RESIDENCE_PERMIT else "932392"
        body = f"{prefix}{birth_date:%Y%m%d}{sequence % 999 + 1:03d}"
        return body + ric.calc_check_digit(body + "0")
    return {
        DocumentType.PASSPORT: f"E{sequence:08d}",
        DocumentType.HK_MO_TRAVEL_PERMIT: f"H{sequence:08d}",
        DocumentType.TW_TRAVEL_PERMIT: f"{sequence:08d}",
        DocumentType.BIRTH_CERTIFICATE: f"X{sequence:09d}",
    }[document_type]


# --- what a sheet's cell may say --------------------------------------------------------------


def document_type_from_text(raw) -> str:
    """The type a sheet's 证件类型 cell names: its value, its Chinese label or a common name.

    An empty cell is an ID card (a sheet without the column imports as before). Raises
    ValidationError (code "document_type") for anything else.
    """
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", strip_invisible(str(raw or ""))))
    if not text:
        return DocumentType.ID_CARD
    found = _document_type_names().get(text.lower())
    if found:
        return found
    raise ValidationError(
        _("%(type)s is not a document type; write one of: %(types)s."),
        code="document_type",
        params={"type": text, "types": "、".join(kind.aliases[0] for kind in DOCUMENT_KINDS.values())},
    )


@lru_cache(maxsize=1)
def _document_type_names() -> dict[str, str]:
    """Every name a sheet may give a type (value, Chinese label, aliases), lowercased: once per process."""
    names = {}
    with override("zh-hans"):
        for kind in DOCUMENT_KINDS.values():
            for name in (kind.type, str(kind.label), str(kind.short), *kind.aliases):
                names[re.sub(r"\s+", "", name).lower()] = str(kind.type)
    return names


def parse_sex(raw) -> str | None:
    """ "M" or "F" from what a person or a sheet writes (男/女, M/F, male/female); None when empty.

    Raises ValidationError (code "sex") for anything else.
    """
    text = unicodedata.normalize("NFKC", str(raw or "")).strip().lower()
    if not text:
        return None
    if text in ("m", "男", "male", "男性"):
        return Sex.MALE
    if text in ("f", "女", "female", "女性"):
        return Sex.FEMALE
    raise ValidationError(_("%(sex)s is not a sex: write 男 or 女."), code="sex", params={"sex": raw})


# --- nationality ------------------------------------------------------------------------------

# Hong Kong, Macao and Taiwan residents are Chinese citizens: they register with their own
# permits, never with a nationality of their own.
_NOT_NATIONALITIES = {"HKG", "MAC", "TWN"}


@lru_cache(maxsize=1)
def nationality_codes() -> frozenset[str]:
    """Every ISO 3166 alpha-3 code a nationality may have."""
    from django_countries import countries

    return frozenset(countries.alpha3(code) for code, _name in countries) - _NOT_NATIONALITIES - {""}


def nationality_name(code: str) -> str:
    """A nationality's name in the active language (哈萨克斯坦 for KAZ); the code when unknown."""
    from django_countries import countries

    return str(countries.name(code)) or code


def nationality_from_numeric(digits: str) -> str:
    """The alpha-3 code of an ISO 3166 numeric code ("392" -> "JPN"); "" when unknown."""
    from django_countries import countries

    if not digits.isdigit():
        return ""
    code = countries.alpha3(int(digits))
    return code if code in nationality_codes() else ""


@lru_cache(maxsize=8)
def _nationality_choices(language: str) -> tuple[tuple[str, str], ...]:
    from pypinyin import lazy_pinyin

    named = [(code, nationality_name(code)) for code in nationality_codes()]
    return tuple(sorted(named, key=lambda pair: (lazy_pinyin(pair[1]), pair[1])))


def nationality_choices() -> list[tuple[str, str]]:
    """(alpha-3 code, name) pairs for a select, in pinyin order of the active language's names."""
    return list(_nationality_choices(get_language() or ""))


def parse_nationality(raw) -> str:
    """An ISO 3166 alpha-3 code from a code (alpha-3, alpha-2, numeric) or a country name in Chinese or English.

    Returns "" for an empty value. Raises ValidationError (code "nationality") for anything else,
    with its own message for Hong Kong, Macao and Taiwan (their residents hold permits).
    """
    from django_countries import countries

    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    if not text:
        return ""
    code = ""
    if text.isdigit():
        code = countries.alpha3(int(text))
    elif text.isascii() and len(text) in (2, 3):
        code = countries.alpha3(text.upper())
    if not code:
        alpha2 = countries.by_name(text, language="zh-hans") or countries.by_name(text)
        code = countries.alpha3(alpha2) if alpha2 else ""
    if code in _NOT_NATIONALITIES:
        raise ValidationError(
            _("Residents of Hong Kong, Macao and Taiwan are Chinese citizens: register them with their permit."),
            code="nationality",
        )
    if code not in nationality_codes():
        raise ValidationError(
            _("%(nationality)s is not a country we know."), code="nationality", params={"nationality": text}
        )
    return code


def document_short_label(document_type) -> str:
    """A type's short name for narrow places (身份证, 护照, 回乡证 ...); "" for an unknown type."""
    kind = DOCUMENT_KINDS.get(str(document_type or ""))
    return kind.short if kind else ""
