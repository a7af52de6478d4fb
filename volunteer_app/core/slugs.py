"""Short names for addresses: ASCII words joined by hyphens."""

from __future__ import annotations

import re
import unicodedata

SLUG_MAX = 80


def slugify(text: str, *, fallback: str = "initiative") -> str:
    """ASCII, lowercase, words joined by hyphens: "Árboles del Río!" -> "arboles-del-rio"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or fallback
