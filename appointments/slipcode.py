"""The code on a slip (凭条码): what it looks like, how it is drawn, and how a typed or scanned one is read.

A code is 10 characters of Crockford's base32 (digits and capital letters without I, L, O and U):
50 random bits from `secrets`, nothing personal and nothing counted. It is printed in two groups
of five (``7K3MQ-4X2TD``) so a nurse can type it from the paper; typing reads lower case, hyphens
and spaces, and Crockford's look-alikes (I and L as 1, O as 0), so a misread letter still finds
the slip. At 150,000 appointments a guess hits one in about 7,500 million tries.

Slips printed before the short codes carry a 22-character token (appointments.models.new_token)
in their QR code and under it; those still scan (`is_legacy_token`).
"""

import re
import secrets
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10
GROUP = 5
# What a nurse may type for what the slip shows: Crockford's decoding of look-alikes.
_LOOK_ALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-‐-―−_]+")
_CODE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
# The tokens of slips printed before the short codes: 22 URL-safe characters.
_LEGACY_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,32}")


def new_code() -> str:
    """A new slip code: 10 characters drawn with `secrets` (50 random bits), as stored (no hyphen)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def grouped(code: str) -> str:
    """The code as printed: ``XXXXX-XXXXX``."""
    return f"{code[:GROUP]}-{code[GROUP:]}" if len(code) == LENGTH else code


def normalize(text: str) -> str | None:
    """The stored code that a typed or scanned `text` means, or None when it cannot be one.

    Reads full-width characters, lower case, hyphens and spaces, and I/L as 1, O as 0.
    """
    folded = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "")).upper().translate(_LOOK_ALIKES)
    return folded if _CODE.fullmatch(folded) else None


def is_legacy_token(text: str) -> bool:
    """Whether `text` (spaces removed) is shaped like the token of a slip printed before the short codes."""
    return bool(_LEGACY_TOKEN.fullmatch(text or ""))


def looks_like_slip(text: str) -> bool:
    """Whether a query is read as a slip (a code, typed or scanned, or an old slip's token), not a name or number."""
    return normalize(text) is not None or is_legacy_token(text)
