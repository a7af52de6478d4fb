"""Counting what a text costs: 160 GSM-7 characters (153 when split) or 70 UCS-2 (67)."""

from __future__ import annotations

import pytest

from volunteer_app.sms.segments import count_segments, is_gsm7


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extended characters take two septets
        ("€" * 81, 2),
        ("é" * 160, 1),  # é is in the GSM-7 basic set
        ("á" * 70, 1),  # á is not: the whole text becomes UCS-2
        ("á" * 71, 2),
        ("a" * 133 + "á", 2),
        ("🙂" * 35, 1),  # outside the BMP: two UTF-16 units each
        ("🙂" * 36, 2),
    ],
)
def test_segments(text, segments):
    assert count_segments(text) == segments


def test_gsm7_detection():
    assert is_gsm7("Reply OK to confirm or DROP to give up your spot. {code} €5")
    assert not is_gsm7("Gracias por ayudar, José… ¡mañana!")
