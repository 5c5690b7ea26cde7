"""How long the free disk lasts at a data rate: the recorder's start-up warning, its status
line and the GUI's free-disk figure all say it the same way."""

from __future__ import annotations


def minutes_left(free_bytes: int, min_free_bytes: int, bytes_per_minute: float) -> float:
    """Minutes of recording until the recorder stops for lack of disk."""
    if bytes_per_minute <= 0:
        return float("inf")
    return max(0.0, free_bytes - min_free_bytes) / bytes_per_minute


def time_left(free_bytes: int, min_free_bytes: int, bytes_per_minute: float) -> str:
    """``N h MM min left at R MB/min`` (the disk line of the CLI and the GUI)."""
    minutes = minutes_left(free_bytes, min_free_bytes, bytes_per_minute)
    if minutes == float("inf"):
        return "no data rate yet"
    h, m = divmod(int(minutes), 60)
    span = f"{h} h {m:02d} min" if h else f"{m} min"
    return f"{span} left at {bytes_per_minute / 1e6:.0f} MB/min"
