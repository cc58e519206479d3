"""Text hygiene: the one rule for every name, address, finding and free text the product stores.

Two kinds of unwanted characters, two treatments:

- Invisible characters that copying brings along (zero-width space, joiner and non-joiner,
  word joiner, the byte-order mark, the soft hyphen, the left-to-right and right-to-left
  marks): removed silently. They come from WeChat, web pages and Excel, the person typing
  cannot see them, so a message would only puzzle them, and they mean nothing in a Chinese
  name or a note. Removed, the text reads the same.
- Control characters (C0 but tab, line feed and carriage return; DEL; C1), the null byte, and
  the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): refused
  with a message. Nobody types them; they arrive from a script, a corrupted file or an attack,
  and they change what the text shows (an RLO reverses a name on every page and in every
  export; ESC sequences colour a terminal; Excel refuses the file). Removing them silently
  would store something other than what was sent without anyone knowing, so the sender is told.

`clean_text` applies both; forms get it through `CleanTextMixin`, the importer and the
services call it directly, and `campaign.lib.excel` shows what is already stored as U+FFFD.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\u061c\ufeff]")
# Tab, line feed and carriage return are ordinary in multi-line text (and legal in Excel).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
UNSAFE = re.compile(f"{CONTROL.pattern}|{BIDI.pattern}")
REPLACEMENT = "\ufffd"


def strip_invisible(text: str) -> str:
    return INVISIBLE.sub("", text)


def unsafe_characters(text: str) -> list[str]:
    """The refused characters of `text`, as U+XXXX codes, in order of first appearance."""
    if UNSAFE.search(text) is None:  # nearly always: one scan, nothing built (the importer checks 100,000s)
        return []
    return list(dict.fromkeys(f"U+{ord(char):04X}" for char in UNSAFE.findall(text)))


def refuse_unsafe(text) -> None:
    """Raise ValidationError (code "unsafe_text") when `text` holds a control or bidirectional character."""
    if not isinstance(text, str):
        return
    found = unsafe_characters(text)
    if found:
        raise ValidationError(
            _(
                "This text contains invisible control characters (%(codes)s), which are not allowed. "
                "Delete it and type it again."
            ),
            code="unsafe_text",
            params={"codes": ", ".join(found[:3])},
        )


def clean_text(text) -> str:
    """`text` without invisible characters; raises ValidationError for control and bidirectional ones."""
    text = strip_invisible(str(text or ""))
    refuse_unsafe(text)
    return text


def displayable(text: str) -> str:
    """Stored text as a file may show it: each refused character replaced by U+FFFD (never raises)."""
    return UNSAFE.sub(REPLACEMENT, strip_invisible(text))


def _clean_value(value):
    return strip_invisible(value) if isinstance(value, str) else value


class CleanTextMixin:
    """For every form: invisible characters are removed from what was sent, and each text field
    refuses control and bidirectional characters with a message at the field.

    Put it first among the bases: `class ResidentForm(CleanTextMixin, forms.ModelForm)`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            self.data = _cleaned_data(self.data)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                # Our validator also covers the null byte: one message, not Django's and ours.
                field.validators = [
                    v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
                ] + [refuse_unsafe]


def _cleaned_data(data):
    if hasattr(data, "setlist"):  # a QueryDict: keep every value of a repeated key
        data = data.copy()
        for key, values in list(data.lists()):
            data.setlist(key, [_clean_value(value) for value in values])
        return data
    return {key: _clean_value(value) for key, value in data.items()}


class CleanTextModelForm(CleanTextMixin, forms.ModelForm):
    """The admin's forms: `form = CleanTextModelForm` on a ModelAdmin applies the same rule."""
