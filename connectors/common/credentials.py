"""Check a channel's credentials once, at start-up, so a typo fails loudly and early.

Rasa has already expanded `${VARS}` by the time a channel sees its settings, so each
required key is declared with the environment variable the shipped credentials.yml uses;
the error then tells the operator exactly what to set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)


class ChannelConfigError(RasaException):
    """A credentials problem the operator fixes by setting one variable; printed as one line."""


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_settings(
    channel: str,
    credentials: Mapping[str, Any] | None,
    required: Mapping[str, str],
    optional: Mapping[str, Any],
) -> dict[str, Any]:
    """Return the channel's settings with defaults filled in.

    `required` maps each key to the environment variable that normally feeds it;
    `optional` maps each key to its default. A missing or empty required key raises
    `ChannelConfigError` naming the variable; keys nobody reads are warned about, because
    a misspelt optional key otherwise silently keeps its default.
    """
    credentials = dict(credentials or {})
    for key, variable in required.items():
        if _is_empty(credentials.get(key)):
            raise ChannelConfigError(
                f"{channel} channel: '{key}' is missing or empty in credentials.yml "
                f"(set the environment variable {variable})"
            )
    unknown = sorted(set(credentials) - set(required) - set(optional))
    for key in unknown:
        logger.warning("%s channel: unknown key '%s' in credentials.yml is ignored", channel, key)
    settings: dict[str, Any] = dict(optional)
    for key, value in credentials.items():
        if key in optional and _is_empty(value):
            continue  # an optional ${VAR} left unset means "use the default"
        settings[key] = value.strip() if isinstance(value, str) else value
    return settings


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def as_float(channel: str, key: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ChannelConfigError(f"{channel} channel: '{key}' must be a number, got {value!r}") from None
