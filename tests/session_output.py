"""Lines a session fixture shows even while pytest captures output: CI logs keep them."""

from __future__ import annotations

import pytest


def say(pytestconfig: pytest.Config, line: str) -> None:
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        print(line)
