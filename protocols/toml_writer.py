"""A small TOML emitter, enough for protocol files.

Python reads TOML (``tomllib``) but cannot write it. Protocol files only need strings,
numbers, booleans, inline tables, one level of ``[table]`` and ``[[array of tables]]``,
so ~60 lines beat a new dependency. Anything outside that subset raises ``TypeError``
instead of writing a file that would not read back the same.

Layout: top-level scalars first, then each top-level table as ``[name]`` (its nested
tables inline), then each list of tables as ``[[name]]`` blocks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _key(k: str) -> str:
    if not isinstance(k, str):
        raise TypeError(f"TOML keys must be strings, got {k!r}")
    return k if _BARE_KEY.match(k) else string_literal(k)


def string_literal(s: str) -> str:
    """``s`` as a TOML basic string ("..." with escapes); UTF-8 stays as it is."""
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(v: Any) -> str:
    """An inline value: scalar, array or inline table."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return repr(v)  # shortest round-tripping form; always has '.' or 'e'
    if isinstance(v, str):
        return string_literal(v)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML: {v!r}")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(x, Mapping) for x in v)


def _body(table: Mapping[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in table.items()]


def dumps(data: Mapping[str, Any]) -> str:
    """``data`` as TOML text that ``tomllib.loads`` turns back into an equal dict."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping) and not _is_table_array(v)}
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    arrays = {k: v for k, v in data.items() if _is_table_array(v)}
    lines = _body(scalars)
    for name, table in tables.items():
        lines += ["", f"[{_key(name)}]", *_body(table)]
    for name, items in arrays.items():
        for item in items:
            lines += ["", f"[[{_key(name)}]]", *_body(item)]
    return "\n".join(lines) + "\n"
