"""Raw events as producers send them, with defaults a test can override by name."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def ident(kind: str, value: str) -> dict[str, str]:
    return {"kind": kind, "value": value}


def event(*identifiers: dict[str, str], **fields: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "event_id": f"evt-{next(_ids)}",
        "type": "identify",
        "timestamp": "2024-05-01T12:00:00Z",
        "source": "web",
        "identifiers": list(identifiers),
    }
    raw.update(fields)
    return raw
