"""Translations: a complete Spanish catalog that keeps up with the code, placeholders intact,
pages and texts in Spanish, and Spanish texts that stay cheap (GSM-7) and name real commands.

When a test here fails after you added or changed text, run `make translations-update` and
translate what it lists in volunteer_app/translations/es/LC_MESSAGES/messages.po.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.factories import make_initiative, make_shift, make_user
from volunteer_app.sms import commands
from volunteer_app.sms.outbox import GSM_FRIENDLY, render_sms
from volunteer_app.sms.segments import is_gsm7

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "volunteer_app" / "translations"
POT_PATH = TRANSLATIONS / "messages.pot"
SPANISH_PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"

NAMED_PLACEHOLDER_RE = re.compile(r"%\((\w+)\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
# The words volunteers text us (see volunteer_app/sms/commands.py); a translated SMS must
# name the same command, in English or through one of its Spanish aliases.
ENGLISH_COMMANDS = {"OK", "DROP", "IN", "OUT", "JOIN", "SHIFTS", "HELP", "STOP", "START"}


def _read_catalog(path: Path):
    with path.open("rb") as po_file:
        return read_po(po_file)


@pytest.fixture(scope="module")
def spanish():
    return _read_catalog(SPANISH_PO)


def _forms(message) -> list[tuple[str, str]]:
    """(English, Spanish) pairs: one for a plain message, singular and plural for ngettext."""
    if isinstance(message.id, tuple):
        singular, plural = message.id
        strings = message.string or ("", "")
        return [(singular, strings[0]), *((plural, string) for string in strings[1:])]
    return [(message.id, message.string or "")]


def _placeholders(text: str) -> tuple[set[str], int, int]:
    """Named placeholders, escaped percent signs, and any other percent sign (a bug)."""
    names = set(NAMED_PLACEHOLDER_RE.findall(text))
    escaped = text.count("%%")
    stray = text.count("%") - 2 * escaped - len(NAMED_PLACEHOLDER_RE.findall(text))
    return names, escaped, stray


def _sms_messages(catalog):
    return [
        message
        for message in catalog
        if message.id and any(path.startswith("templates/sms/") for path, _ in message.locations)
    ]


def test_every_message_has_a_spanish_translation(spanish):
    template = _read_catalog(POT_PATH)
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = spanish.get(message.id)
        if (
            translated is None
            or translated.fuzzy
            or not all(spanish_text for _, spanish_text in _forms(translated))
        ):
            missing.append(message.id)
    assert not missing, f"untranslated or fuzzy in {SPANISH_PO.name}: {missing[:20]}"
    assert not spanish.fuzzy, "the catalog header is fuzzy, so pybabel will not compile it"
    assert spanish.num_plurals == 2


def test_translations_keep_the_placeholders(spanish):
    broken = [
        (english, spanish_text)
        for message in spanish
        if message.id
        for english, spanish_text in _forms(message)
        if _placeholders(english) != _placeholders(spanish_text)
    ]
    assert not broken, broken[:10]


def test_the_catalog_is_up_to_date_with_the_code(spanish, tmp_path):
    """Extract as `make translations-extract` does; every message found must be in the .po."""
    keywords = re.search(r"^BABEL_KEYWORDS\s*:?=(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert keywords, "the Makefile names the gettext keywords in BABEL_KEYWORDS"
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract"]
        + ["-F", str(ROOT / "babel.cfg"), *shlex.split(keywords.group(1))]
        + ["-o", str(fresh), str(ROOT)],
        check=True,
        capture_output=True,
    )
    extracted = {message.id for message in _read_catalog(fresh) if message.id}
    assert len(extracted) > 100, "extraction found almost nothing: check babel.cfg"
    missing = sorted(str(msgid) for msgid in extracted if spanish.get(msgid) is None)
    assert not missing, (
        "messages in the code but not in the Spanish catalog (run `make translations-update` "
        f"and translate them): {missing[:20]}"
    )


@pytest.mark.parametrize(
    ("url", "spanish_text", "english_text"),
    [
        ("/?lang=es", "Haz voluntariado donde más cuenta", "Volunteer where it counts"),
        ("/initiatives?lang=es", "Filtrar oportunidades", "Filter opportunities"),
        ("/login?lang=es", "¿Eres nuevo aquí?", "New here?"),
    ],
)
def test_pages_speak_spanish_when_asked(client, db, url, spanish_text, english_text):
    page = client.get(url).get_data(as_text=True)
    assert '<html lang="es">' in page
    assert spanish_text in page and english_text not in page
    assert "Buscar oportunidades" in page  # the navigation, from base.html

    english = client.get(url.split("?")[0]).get_data(as_text=True)
    assert english_text in english and spanish_text not in english


def test_a_spanish_speaker_sees_spanish_after_logging_in(client, db, auth):
    make_user("maria@example.org", preferred_language="es")
    db.session.commit()
    auth.login("maria@example.org")
    page = client.get("/").get_data(as_text=True)
    assert "Cerrar sesión" in page and "Log out" not in page


def test_texts_go_out_in_the_recipients_language(app, db, now):
    shift = make_shift(make_initiative(title="Tree planting"), starts_at=now, code="4821")
    spanish_text = render_sms("reminder", make_user(preferred_language="es"), shift=shift)
    english_text = render_sms("reminder", make_user(preferred_language="en"), shift=shift)

    assert spanish_text.startswith("Recordatorio: Tree planting")
    assert "LISTO" in spanish_text and "DEJAR" in spanish_text and "4821" in spanish_text
    assert english_text.startswith("Reminder: Tree planting")
    # Both stay one GSM-7 segment; accents outside GSM-7 would triple the cost.
    assert is_gsm7(spanish_text)


def test_spanish_texts_stay_within_gsm7(spanish):
    """á, í, ó and ú are not in the GSM-7 alphabet: one of them makes a text UCS-2, cut into
    segments of 70 characters instead of 160. The Spanish texts are worded around them."""
    not_gsm = [
        spanish_text
        for message in _sms_messages(spanish)
        for _, spanish_text in _forms(message)
        if not is_gsm7(spanish_text.translate(GSM_FRIENDLY))
    ]
    assert not not_gsm, not_gsm


def test_spanish_texts_name_commands_the_app_understands(spanish):
    """A text that says "Reply OK" in English must name the confirm command in Spanish too:
    LISTO (an alias commands.py reads) or OK itself."""
    wrong = []
    for message in _sms_messages(spanish):
        for english, spanish_text in _forms(message):
            spanish_kinds = {
                commands.parse(word).kind for word in re.findall(r"\b[A-Z]{2,}\b", spanish_text)
            }
            for word in set(re.findall(r"\b[A-Z]{2,}\b", english)) & ENGLISH_COMMANDS:
                if commands.parse(word).kind not in spanish_kinds:
                    wrong.append((word, spanish_text))
    assert not wrong, wrong
