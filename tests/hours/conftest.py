"""The screens' fixtures (an organization, its coordinator and initiative, logging in through
the real form), shared with the roster tests whose pages these features' tests exercise."""

from tests.roster.conftest import clock, coordinator, initiative, login, org  # noqa: F401
