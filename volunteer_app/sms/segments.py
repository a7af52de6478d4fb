"""How many SMS segments a text costs: 160 GSM-7 characters, or 70 UCS-2, per single segment."""

from __future__ import annotations

import math

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def count_segments(text: str) -> int:
    if not text:
        return 1
    if is_gsm7(text):
        length = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        return 1 if length <= 160 else math.ceil(length / 153)
    # UCS-2 counts UTF-16 code units: characters outside the BMP (emoji) take two.
    length = len(text.encode("utf-16-le")) // 2
    return 1 if length <= 70 else math.ceil(length / 67)
