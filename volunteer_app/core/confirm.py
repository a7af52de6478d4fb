"""Asking first: an action that cancels, removes, voids or texts many people runs only from a
page of its own that says what will happen (who is told, how many texts), as a resident's own
cancel does. Its button posts `confirmed=yes`; the same URL shown (GET) or posted without it
(a stale one-click form, a crafted request) answers with that page and changes nothing.
"""

from __future__ import annotations

from flask import render_template, request

CONFIRMED = "confirmed"


def confirmed() -> bool:
    """The request is the confirm page's own POST."""
    return request.method == "POST" and request.form.get(CONFIRMED) == "yes"


def ask_first(  # noqa: PLR0913 -- keyword-only: the parts of the confirm page
    *,
    title: str,
    consequences: list[str],
    confirm_label: str,
    back_url: str,
    back_label: str,
    fields=(),
    layout: str = "coordinators/_layout.html",
):
    """The confirm page. What was posted with the first click (a form's fields) is posted again
    with the confirmation, less what the page shows as `fields` (WTForms fields to fill in)."""
    shown = {field.name for field in fields} | {"csrf_token", CONFIRMED}
    carried = (
        [(name, value) for name, value in request.form.items(multi=True) if name not in shown]
        if request.method == "POST"
        else []
    )
    return render_template(
        "confirm.html",
        layout=layout,
        title=title,
        consequences=consequences,
        confirm_label=confirm_label,
        back_url=back_url,
        back_label=back_label,
        fields=fields,
        carried=carried,
    )
