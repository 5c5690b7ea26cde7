"""Package names that load their module on first use (``dataset``, ``sync``).

Importing one small submodule then costs only that module: reading a recording's clock
level does not import scipy.signal, the detectors or the training views.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, api: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``package.<api[name]>`` to return ``name``."""
    def __getattr__(name: str) -> Any:
        if name in api:
            return getattr(importlib.import_module(f"{package}.{api[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__
