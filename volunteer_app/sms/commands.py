"""Reading what people text us: words in, a `Command` out. Pure functions, no database.

Matching is case-insensitive and forgiving: accents, punctuation and extra spaces are ignored
("ok!", " Drop 4821 ", "in.", "LLEGUÉ" all read fine), and the first number after a command
word is its shift code ("JOIN shift #4821").

Twilio's reserved words (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, START,
YES, UNSTOP, HELP, INFO) are never used for anything but what they mean to Twilio: we mirror
them. Twilio acts on a reserved word when it is the whole message, so that is what
`twilio_keyword` marks; we then let Twilio's own reply stand.

| command    | English words                       | Spanish aliases                     |
| ---------- | ----------------------------------- | ----------------------------------- |
| opt out    | STOP STOPALL "STOP ALL" UNSUBSCRIBE  | PARAR ALTO BAJA DETENER             |
|            | CANCEL END QUIT REVOKE OPTOUT        | (ours, not Twilio's: we confirm)    |
|            | "OPT OUT"                           |                                     |
| opt in     | START UNSTOP YES                    | none: Twilio only unblocks a number |
|            |                                     | on its own opt-in words             |
| help       | HELP INFO                           | AYUDA                               |
| confirm    | OK OKAY CONFIRM                     | LISTO LISTA CONFIRMO CONFIRMAR      |
| drop       | DROP                                | DEJAR DEJO                          |
| check in   | IN HERE CHECKIN "CHECK IN" ARRIVED  | LLEGUE ENTRAR ENTRADA AQUI          |
| check out  | OUT CHECKOUT "CHECK OUT"            | SALIDA SALGO                        |
| shifts     | SHIFTS "MY SHIFTS" SCHEDULE         | TURNOS "MIS TURNOS"                 |
| join       | JOIN SIGNUP "SIGN UP"               | UNIRME UNIR INSCRIBIR INSCRIBIRME   |
|            |                                     | APUNTAR APUNTARME                   |

Deliberately left out: SI/SÍ (too close to Twilio's YES, which means opt-in) and SALIR
(reads as "leave the list"). "CANCEL 4821", "END shift", "QUIT", "YES 4821" and CANCELAR,
which people may mean as "give up my shift", get a hint (text DROP, or STOP to stop texts)
instead of an action: CANCEL, END and QUIT alone are opt-outs, and we must not stretch them.

A message with one number and nothing else but words ("12", "TREES 12", "12 bags") is a
`NUMBER`: an outcome value when a team lead sends it, a likely shift code otherwise.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass


class Kind(enum.StrEnum):
    OPT_OUT = "stop"
    OPT_IN = "start"
    HELP = "help"
    CONFIRM = "ok"
    DROP = "drop"
    CHECK_IN = "in"
    CHECK_OUT = "out"
    SHIFTS = "shifts"
    JOIN = "join"
    NUMBER = "number"
    RESERVED_HINT = "hint"  # a reserved word used with more words: explain, do nothing
    TEXT = "text"  # anything else (also a name, when we asked for one)
    EMPTY = "empty"


@dataclass(frozen=True)
class Command:
    kind: Kind
    code: str | None = None  # a shift code following the command word
    number: str | None = None  # NUMBER: the value as typed ("12", "1,200", "2.5")
    keyword: str | None = None  # NUMBER: the words around it ("TREES"), upper-case
    language: str | None = None  # "es" when a Spanish alias was used
    twilio_keyword: bool = False  # Twilio itself acts on (and answers) this message
    text: str = ""  # the message, trimmed


TWILIO_OPT_OUT = frozenset(
    {
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
    }
)
TWILIO_OPT_IN = frozenset({"START", "UNSTOP", "YES"})
TWILIO_HELP = frozenset({"HELP", "INFO"})
TWILIO_RESERVED = TWILIO_OPT_OUT | TWILIO_OPT_IN | TWILIO_HELP

# Reserved words whose intent stays clear with more words after them ("STOP texting me").
CLEAR_OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "REVOKE", "OPTOUT"})
# Reserved words that people also use for "give up my shift" or "yes I'm coming".
AMBIGUOUS_RESERVED = frozenset({"CANCEL", "END", "QUIT", "YES"})

# (words, kind, language); the longest match at the start of the message wins.
_ALIASES: list[tuple[tuple[str, ...], Kind, str | None]] = [
    (("STOP", "ALL"), Kind.OPT_OUT, None),
    (("OPT", "OUT"), Kind.OPT_OUT, None),
    (("CHECK", "IN"), Kind.CHECK_IN, None),
    (("CHECK", "OUT"), Kind.CHECK_OUT, None),
    (("SIGN", "UP"), Kind.JOIN, None),
    (("MY", "SHIFTS"), Kind.SHIFTS, None),
    (("MIS", "TURNOS"), Kind.SHIFTS, "es"),
    *(((word,), Kind.OPT_OUT, None) for word in sorted(TWILIO_OPT_OUT)),
    *(((word,), Kind.OPT_IN, None) for word in sorted(TWILIO_OPT_IN)),
    *(((word,), Kind.HELP, None) for word in sorted(TWILIO_HELP)),
    *(((word,), Kind.OPT_OUT, "es") for word in ("PARAR", "ALTO", "BAJA", "DETENER")),
    (("AYUDA",), Kind.HELP, "es"),
    *(((word,), Kind.CONFIRM, None) for word in ("OK", "OKAY", "CONFIRM")),
    *(((word,), Kind.CONFIRM, "es") for word in ("LISTO", "LISTA", "CONFIRMO", "CONFIRMAR")),
    (("DROP",), Kind.DROP, None),
    *(((word,), Kind.DROP, "es") for word in ("DEJAR", "DEJO")),
    *(((word,), Kind.CHECK_IN, None) for word in ("IN", "HERE", "CHECKIN", "ARRIVED")),
    *(((word,), Kind.CHECK_IN, "es") for word in ("LLEGUE", "ENTRAR", "ENTRADA", "AQUI")),
    *(((word,), Kind.CHECK_OUT, None) for word in ("OUT", "CHECKOUT")),
    *(((word,), Kind.CHECK_OUT, "es") for word in ("SALIDA", "SALGO")),
    *(((word,), Kind.SHIFTS, None) for word in ("SHIFTS", "SCHEDULE")),
    (("TURNOS",), Kind.SHIFTS, "es"),
    *(((word,), Kind.JOIN, None) for word in ("JOIN", "SIGNUP")),
    *(
        ((word,), Kind.JOIN, "es")
        for word in ("UNIRME", "UNIR", "INSCRIBIR", "INSCRIBIRME", "APUNTAR", "APUNTARME")
    ),
    (("CANCELAR",), Kind.RESERVED_HINT, "es"),
]
_ALIASES.sort(key=lambda alias: -len(alias[0]))

_TOKEN_RE = re.compile(r"[A-Z]+|\d+(?:[.,]\d+)*")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_CODE_RE = re.compile(r"\d{3,8}")
MAX_NAME_LENGTH = 60


def fold(text: str) -> str:
    """Upper-case without accents: "Llegué" -> "LLEGUE"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def tokens(text: str) -> list[str]:
    """Words (A-Z) and numbers of a message; everything else is a separator."""
    return _TOKEN_RE.findall(fold(text))


def parse(body: str | None) -> Command:
    """What a text message asks for."""
    text = (body or "").strip()
    words = tokens(text)
    if not words:
        return Command(Kind.EMPTY, text=text)

    for alias, kind, language in _ALIASES:
        if tuple(words[: len(alias)]) == alias:
            rest = words[len(alias) :]
            return _command(kind, alias, rest, language, text)

    numbers = [word for word in words if _NUMBER_RE.fullmatch(word)]
    if len(numbers) == 1:
        keyword = " ".join(word for word in words if word != numbers[0]) or None
        return Command(Kind.NUMBER, number=numbers[0], keyword=keyword, text=text)
    return Command(Kind.TEXT, text=text)


def _command(
    kind: Kind, alias: tuple[str, ...], rest: list[str], language: str | None, text: str
) -> Command:
    word = "".join(alias)
    reserved = len(alias) == 1 and alias[0] in TWILIO_RESERVED
    if reserved and rest:
        # Twilio acts only on the bare word; with more words we judge the intent ourselves.
        if alias[0] in AMBIGUOUS_RESERVED:
            return Command(
                Kind.RESERVED_HINT, code=_code(rest), keyword=alias[0], language=language, text=text
            )
        if alias[0] in CLEAR_OPT_OUT:
            return Command(Kind.OPT_OUT, language=language, text=text)
    # Twilio matches the bare word (any case, surrounding spaces): "Stop." is ours to answer.
    twilio_keyword = reserved and not rest and text.upper() == word
    if kind == Kind.RESERVED_HINT:
        return Command(kind, code=_code(rest), keyword=word, language=language, text=text)
    return Command(
        kind, code=_code(rest), language=language, twilio_keyword=twilio_keyword, text=text
    )


def _code(rest: list[str]) -> str | None:
    for word in rest:
        if _CODE_RE.fullmatch(word):
            return word
    return None


_NAME_PREFIXES = (
    "my name is",
    "name is",
    "i am",
    "i'm",
    "im",
    "it's",
    "its",
    "this is",
    "call me",
    "me llamo",
    "mi nombre es",
    "soy",
)
_NOT_NAMES = frozenset(
    {
        "HI",
        "HELLO",
        "HEY",
        "HOLA",
        "THANKS",
        "THANK YOU",
        "THX",
        "GRACIAS",
        "WHAT",
        "WHO",
        "WHY",
        "QUE",
        "NO",
        "NOPE",
        "SURE",
        "GOOD",
        "BUENO",
        "BIEN",
    }
)


def name_from_text(text: str) -> str | None:
    """A person's name from a reply to "what's your name?", or None if it does not look like
    one (digits, a question, a greeting, a long sentence)."""
    cleaned = " ".join(text.split()).strip(" .!,;:\"'")
    lowered = cleaned.lower()
    for prefix in _NAME_PREFIXES:
        if lowered.startswith(prefix + " "):
            cleaned = cleaned[len(prefix) :].strip(" .!,;:\"'")
            break
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH or len(cleaned.split()) > 5:
        return None
    if any(ch.isdigit() for ch in cleaned) or any(ch in cleaned for ch in "?@/<>#=_*"):
        return None
    if not any(ch.isalpha() for ch in cleaned) or fold(cleaned) in _NOT_NAMES:
        return None
    if cleaned.islower() or cleaned.isupper():
        cleaned = " ".join(part[:1].upper() + part[1:].lower() for part in cleaned.split())
    return cleaned
