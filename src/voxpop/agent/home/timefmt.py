"""Times as an owner reads them: "3 minutes ago", "2026-11-30 14:05 UTC"."""

from __future__ import annotations

import datetime as dt


def when(unix: int | float | None, now: float) -> str:
    """How long ago `unix` was, in words (None or 0: never)."""
    if not unix:
        return "never"
    ago = int(now - unix)
    if ago < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if ago >= size:
            count = ago // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def date(unix: int | float | None) -> str:
    if not unix:
        return ""
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
