"""Shared fixtures. Helpers importable by tests live in lsl_helpers.py (tests/ is on sys.path)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from lsl_helpers import PushingOutlet  # noqa: E402


@pytest.fixture
def outlet_factory():
    made: list[PushingOutlet] = []

    def make(**kw) -> PushingOutlet:
        o = PushingOutlet(**kw).start()
        made.append(o)
        return o

    yield make
    for o in made:
        o.stop()


