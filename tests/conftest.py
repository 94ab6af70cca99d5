"""Fixtures every test folder may use, whichever environment runs it."""

from tests.postgres import postgres  # noqa: F401 - a session fixture, registered by name
