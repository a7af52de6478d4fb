"""Print how many messages each catalog still needs: `make translations-update` runs it.

A message needs work when it has no translation (or an empty plural form) or is marked fuzzy,
that is a guess `pybabel update` made from a similar message; fuzzy ones are not compiled.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po

HERE = Path(__file__).resolve().parent


def needs_work(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return message.fuzzy or not all(strings)


def main() -> int:
    for po_path in sorted(HERE.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        messages = [message for message in catalog if message.id]
        todo = [message for message in messages if needs_work(message)]
        print(f"{po_path.relative_to(HERE)}: {len(todo)} of {len(messages)} to translate")
        for message in todo[:20]:
            msgid = message.id[0] if isinstance(message.id, tuple) else message.id
            print(f"  {'fuzzy ' if message.fuzzy else ''}{msgid!r}")
        if len(todo) > 20:
            print(f"  ... and {len(todo) - 20} more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
