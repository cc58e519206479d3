"""Masking of sensitive personal information (PIPL) for lists and exports."""


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
