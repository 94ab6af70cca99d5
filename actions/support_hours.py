"""When the support team works (`SUPPORT_HOURS`, e.g. `Mon-Fri 08:00-20:00 America/New_York`),
so a customer waiting at night is told when someone will answer instead of "soon".

Also reads the handoff's durations (`300`, `90s`, `5m`, `1h`), which operators write both ways.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(
    r"^\s*(?P<days>[A-Za-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s+(?P<tz>\S+)\s*$"
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(value: str, default: float) -> float:
    """`300`, `90s`, `5m`, `1h` as seconds; `default` when empty or unreadable (logged)."""
    if not value.strip():
        return default
    match = _DURATION.match(value)
    if not match:
        log.warning("handoff: duration %r not understood (300, 90s, 5m, 1h); using %.0f s", value, default)
        return default
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def _day_set(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.replace(" ", "").lower().split(","):
        first, _, last = part.partition("-")
        start, end = DAYS.index(first[:3]), DAYS.index((last or first)[:3])
        index = start
        while True:
            days.add(index)
            if index == end:
                break
            index = (index + 1) % 7
    return frozenset(days)


def _clock(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    return time(23, 59, 59) if (hours, minutes) == (24, 0) else time(hours, minutes)


@dataclass(frozen=True)
class SupportHours:
    spec: str
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str) -> SupportHours:
        """ValueError with the reason when the text is not `<days> HH:MM-HH:MM <IANA zone>`."""
        match = _SPEC.match(spec)
        if not match:
            raise ValueError(
                "expected '<days> HH:MM-HH:MM <time zone>', e.g. 'Mon-Fri 08:00-20:00 America/New_York'"
            )
        try:
            days = _day_set(match.group("days"))
            start, end = _clock(match.group("start")), _clock(match.group("end"))
        except ValueError:
            raise ValueError("days are Mon..Sun (ranges and lists) and times HH:MM") from None
        try:
            zone = ZoneInfo(match.group("tz"))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {match.group('tz')!r}") from None
        if end <= start:
            raise ValueError("the end of the working day must come after its start")
        return cls(spec.strip(), days, start, end, zone)

    def _local(self, now: datetime | None) -> datetime:
        return (now or datetime.now(timezone.utc)).astimezone(self.zone)

    def is_open(self, now: datetime | None = None) -> bool:
        local = self._local(now)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_opening(self, now: datetime | None = None) -> datetime | None:
        """The next time the team starts work (None while it is working)."""
        local = self._local(now)
        if self.is_open(local):
            return None
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            opening = datetime.combine(day, self.start, self.zone)
            if day.weekday() in self.days and opening > local:
                return opening
        return None  # pragma: no cover - at least one working day is guaranteed by parse

    def describe(self, when: datetime, language: str | None = None) -> str:
        """`Monday 08:00 (America/New York time)`, in the conversation's language.

        The zone is named so a customer anywhere can place the time. The weekday comes from
        a table rather than `strftime('%A')`, which follows the server's locale, not the
        customer's: a Spanish message said "a partir del Monday 08:00".
        """
        names, pattern = _WEEKDAYS.get(language or "en", _WEEKDAYS["en"])
        return pattern.format(
            day=names[when.weekday()], time=when.strftime("%H:%M"), zone=self.zone.key.replace("_", " ")
        )


# Weekday names (Monday first) and how the opening time reads inside the localized
# "someone will answer from {opens}" responses of bot/domain.yml.
_WEEKDAYS: dict[str, tuple[tuple[str, ...], str]] = {
    "en": (
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "{day} {time} ({zone} time)",
    ),
    "es": (
        ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        "{day} a las {time} (hora de {zone})",
    ),
    "de": (
        ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
        "{day}, {time} Uhr (Zeitzone {zone})",
    ),
    "fr": (
        ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        "{day} {time} (heure de {zone})",
    ),
    "pt": (
        ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"),
        "{day} às {time} (hora de {zone})",
    ),
}


def from_env() -> SupportHours | None:
    spec = os.environ.get("SUPPORT_HOURS", "").strip()
    if not spec:
        return None
    try:
        return SupportHours.parse(spec)
    except ValueError as exc:
        log.warning("SUPPORT_HOURS=%r ignored: %s", spec, exc)
        return None
