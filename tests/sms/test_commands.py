"""Parsing texts into commands: forgiving of case, spaces, punctuation and accents; Spanish
aliases; Twilio's reserved words only ever mirrored."""

from __future__ import annotations

import pytest

from volunteer_app.sms.commands import (
    _ALIASES,
    TWILIO_OPT_IN,
    TWILIO_OPT_OUT,
    TWILIO_RESERVED,
    Kind,
    name_from_text,
    parse,
)


@pytest.mark.parametrize(
    ("text", "kind", "code", "language"),
    [
        ("OK", Kind.CONFIRM, None, None),
        ("ok!", Kind.CONFIRM, None, None),
        ("  Okay.  ", Kind.CONFIRM, None, None),
        ("ok 4821", Kind.CONFIRM, "4821", None),
        ("listo", Kind.CONFIRM, None, "es"),
        (" Drop 4821 ", Kind.DROP, "4821", None),
        ("drop", Kind.DROP, None, None),
        ("DEJAR #4821", Kind.DROP, "4821", "es"),
        ("in.", Kind.CHECK_IN, None, None),
        ("IN 4821", Kind.CHECK_IN, "4821", None),
        ("here", Kind.CHECK_IN, None, None),
        ("check-in 4821", Kind.CHECK_IN, "4821", None),
        ("Llegué", Kind.CHECK_IN, None, "es"),
        ("aquí 4821", Kind.CHECK_IN, "4821", "es"),
        ("out", Kind.CHECK_OUT, None, None),
        ("Check out!", Kind.CHECK_OUT, None, None),
        ("salida 4821", Kind.CHECK_OUT, "4821", "es"),
        ("shifts?", Kind.SHIFTS, None, None),
        ("my shifts", Kind.SHIFTS, None, None),
        ("Mis turnos", Kind.SHIFTS, None, "es"),
        ("JOIN 4821", Kind.JOIN, "4821", None),
        ("join shift #4821 please", Kind.JOIN, "4821", None),
        ("JOIN#4821", Kind.JOIN, "4821", None),
        ("sign up 4821", Kind.JOIN, "4821", None),
        ("unirme 4821", Kind.JOIN, "4821", "es"),
        ("join", Kind.JOIN, None, None),
        ("help", Kind.HELP, None, None),
        ("Info", Kind.HELP, None, None),
        ("ayuda", Kind.HELP, None, "es"),
        ("hello there", Kind.TEXT, None, None),
        ("", Kind.EMPTY, None, None),
        ("  !!  ", Kind.EMPTY, None, None),
    ],
)
def test_commands_are_forgiving(text, kind, code, language):
    command = parse(text)
    assert (command.kind, command.code, command.language) == (kind, code, language)


@pytest.mark.parametrize("word", sorted(TWILIO_OPT_OUT))
def test_every_twilio_opt_out_word_opts_out_and_is_left_to_twilio(word):
    for text in (word, word.lower(), f"  {word.title()} "):
        command = parse(text)
        assert command.kind == Kind.OPT_OUT
        assert command.twilio_keyword, text


@pytest.mark.parametrize("word", sorted(TWILIO_OPT_IN))
def test_every_twilio_opt_in_word_opts_in(word):
    assert parse(word.lower()).kind == Kind.OPT_IN


@pytest.mark.parametrize(
    ("text", "kind", "twilio"),
    [
        ("Stop.", Kind.OPT_OUT, False),  # not Twilio's bare word: we confirm ourselves
        ("stop texting me", Kind.OPT_OUT, False),
        ("STOP ALL", Kind.OPT_OUT, False),
        ("opt-out", Kind.OPT_OUT, False),
        ("unsubscribe me", Kind.OPT_OUT, False),
        ("PARAR", Kind.OPT_OUT, False),
        ("Baja", Kind.OPT_OUT, False),
        ("cancel 4821", Kind.RESERVED_HINT, False),  # not DROP: CANCEL is Twilio's
        ("end shift", Kind.RESERVED_HINT, False),
        ("yes I'll be there", Kind.RESERVED_HINT, False),  # not OK: YES is Twilio's
        ("cancelar", Kind.RESERVED_HINT, False),
    ],
)
def test_reserved_words_only_mirror_twilio(text, kind, twilio):
    command = parse(text)
    assert (command.kind, command.twilio_keyword) == (kind, twilio)


def test_no_command_word_of_ours_is_a_twilio_reserved_word_used_otherwise():
    mirrored = {Kind.OPT_OUT, Kind.OPT_IN, Kind.HELP}
    for words, kind, _language in _ALIASES:
        for word in words:
            if word in TWILIO_RESERVED:
                assert kind in mirrored, (words, kind)
    # Spanish "sí" must not read as a confirmation (YES means opt-in to Twilio).
    assert parse("sí").kind == Kind.TEXT
    assert parse("si").kind == Kind.TEXT


@pytest.mark.parametrize(
    ("text", "number", "keyword"),
    [
        ("12", "12", None),
        ("12.5", "12.5", None),
        ("1,200", "1,200", None),
        ("TREES 12", "12", "TREES"),
        ("trees: 12!", "12", "TREES"),
        ("12 bags", "12", "BAGS"),
    ],
)
def test_numbers_with_an_optional_metric_word(text, number, keyword):
    command = parse(text)
    assert (command.kind, command.number, command.keyword) == (Kind.NUMBER, number, keyword)


def test_two_numbers_are_not_an_outcome():
    assert parse("9:30").kind == Kind.TEXT


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Ana", "Ana"),
        ("ana maria", "Ana Maria"),
        ("My name is Ana López.", "Ana López"),
        ("me llamo José", "José"),
        ("Soy Lucía", "Lucía"),
        ("O'Brien", "O'Brien"),
    ],
)
def test_names_from_replies(text, name):
    assert name_from_text(text) == name


@pytest.mark.parametrize(
    "text", ["hi", "Hola!", "what?", "4821", "I would like to know more about the shifts", "", "?"]
)
def test_what_is_not_a_name(text):
    assert name_from_text(text) is None
