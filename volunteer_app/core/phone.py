"""Phone numbers, always stored in E.164."""

from __future__ import annotations

import phonenumbers
from flask import current_app


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, region: str | None = None) -> str:
    """Parse what a person typed into E.164, or raise InvalidPhone."""
    region = region or current_app.config.get("SMS_DEFAULT_REGION", "US")
    if not raw or len(raw) > 40:
        raise InvalidPhone(raw)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(raw) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str | None) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
