"""Domain errors. Services raise them; views turn them into messages or 4xx answers."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the action; `message` is already translated for people."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409
