"""Outgoing email: `send_mail` and the backends behind it, chosen by `MAIL_BACKEND`.

- "console" (the default) logs the whole mail and prints it to stderr, so a developer can
  click a password-reset link without a mail server;
- "memory" appends to `outbox` in this module, for tests;
- "smtp" hands the mail to SMTP_HOST:SMTP_PORT.

Callers send after the change that caused the mail is committed (or when nothing is written),
so a rolled-back request never leaves a mail behind.
"""

from __future__ import annotations

import logging
import smtplib
import sys
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    sender: str
    to: str
    subject: str
    body: str


# The "memory" backend's mailbox; tests read and clear it.
outbox: list[Mail] = []


class MailError(RuntimeError):
    """The mail could not be handed to the mail server."""


def send_mail(to: str, subject: str, body: str) -> Mail:
    """Send one plain-text mail through the configured backend and return it."""
    config = current_app.config
    mail = Mail(sender=config["MAIL_FROM"], to=to, subject=subject, body=body)
    backend = config.get("MAIL_BACKEND", "console")
    if backend == "memory":
        outbox.append(mail)
    elif backend == "console":
        _print(mail)
    elif backend == "smtp":
        _send_smtp(mail)
    else:
        raise ValueError(f"unknown MAIL_BACKEND {backend!r}")
    return mail


def _print(mail: Mail) -> None:
    text = f"From: {mail.sender}\nTo: {mail.to}\nSubject: {mail.subject}\n\n{mail.body}"
    logger.info("Mail (console backend, not sent):\n%s", text)
    print(f"----- mail -----\n{text}\n----- end of mail -----", file=sys.stderr)


def _send_smtp(mail: Mail) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            # Optional settings: a local relay needs none of them.
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD", ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"could not send mail to {mail.to}: {exc}") from exc
    logger.info("Mail sent to %s: %s", mail.to, mail.subject)
