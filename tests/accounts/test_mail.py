"""The mail backends: memory for tests, console for development, SMTP for production."""

from __future__ import annotations

import logging
import smtplib

import pytest

from volunteer_app.core import mail


def test_memory_backend_keeps_the_mail(app, outbox):
    sent = mail.send_mail("ana@example.org", "Hello", "Body text")
    assert outbox == [sent]
    assert (sent.to, sent.subject, sent.body) == ("ana@example.org", "Hello", "Body text")
    assert sent.sender == app.config["MAIL_FROM"]


def test_console_backend_logs_and_prints_the_whole_mail(app, monkeypatch, capsys, caplog, outbox):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "console")
    with caplog.at_level(logging.INFO, logger="volunteer_app.core.mail"):
        mail.send_mail("ana@example.org", "Reset", "Open http://localhost/password/reset/abc")
    printed = capsys.readouterr().err
    for output in (printed, caplog.text):
        assert "To: ana@example.org" in output
        assert "Subject: Reset" in output
        assert "http://localhost/password/reset/abc" in output
    assert outbox == []


class FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout):
        self.address = (host, port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        FakeSMTP.sent.append((self.address, message))


def test_smtp_backend_hands_the_mail_to_the_server(app, monkeypatch):
    FakeSMTP.sent = []
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.city.example")
    monkeypatch.setitem(app.config, "SMTP_PORT", 2525)

    mail.send_mail("ana@example.org", "Réinitialiser", "Línea uno")

    ((address, message),) = FakeSMTP.sent
    assert address == ("mail.city.example", 2525)
    assert message["To"] == "ana@example.org"
    assert message["Subject"] == "Réinitialiser"
    assert message.get_content().strip() == "Línea uno"


def test_an_unreachable_smtp_server_raises_mail_error(app, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("nobody listening")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    with pytest.raises(mail.MailError):
        mail.send_mail("ana@example.org", "Hello", "Body")


def test_an_unknown_backend_is_a_configuration_error(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "pigeon")
    with pytest.raises(ValueError, match="pigeon"):
        mail.send_mail("ana@example.org", "Hello", "Body")
