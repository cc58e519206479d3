"""The captcha's challenge (django-simple-captcha's CAPTCHA_CHALLENGE_FUNCT)."""

import secrets

from django.conf import settings

# No 0/1/7: in a noisy picture they pass for O, l and 1.
DIGITS = "23456789"


def digits_challenge() -> tuple[str, str]:
    """(text drawn, answer expected): a few digits, typed on a phone's number pad."""
    text = "".join(secrets.choice(DIGITS) for _ in range(settings.CAPTCHA_LENGTH))
    return text, text
