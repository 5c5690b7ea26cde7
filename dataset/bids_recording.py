"""A recording of a BIDS export, read back with the same interface as :class:`Recording`.

What public users get is the export (``mimicsync export``): per recording the BDF with
``_emg.json``, ``_channels.tsv``, the session's ``_electrodes.tsv``, ``_events.tsv`` and,
with video consent, the H.264 ``_video.mp4`` with ``_video.json``. This class lines them
up again: the timeline is the BDF's sample clock (sample k at k / rate s; the export puts
event onsets and video presentation times on that clock), frames are found by index, and
the movement labels come from the events. ``frame_windows``, ``frame_features``,
``FrameDataset`` and ``mimicsync features`` take it like a recording file.

EMG comes back in the channel units of ``_channels.tsv`` (µV), within the BDF's 24-bit
resolution; frames within H.264 loss.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from mimicsync.dataset.events import Event
from mimicsync.dataset.recording import RecordingError, warn_unsynced
from mimicsync.dataset.study_tree import read_tsv
from mimicsync.format import VIDEO, ChannelSpec

EMG_KEY = "emg"
_TO_CHANNEL_UNIT = {"µV": 1e6, "uV": 1e6, "mV": 1e3, "V": 1.0}
_TYPES = {"EMG": "EMG", "TRIG": "TRIG"}


class BidsStream:
    """The sEMG of the BDF, as :class:`~mimicsync.dataset.recording.StreamView` offers it."""

    key = EMG_KEY
    is_string = False

    def __init__(self, bdf: Path, channels: list[ChannelSpec]) -> None:
        import mne
        self._raw = mne.io.read_raw_bdf(bdf, preload=False, verbose="ERROR")
        names = self._raw.ch_names
        by_name = {c.label: c for c in channels}
        self.channel_specs = [by_name.get(n, ChannelSpec(n, type="MISC")) for n in names]
        self.srate = float(self._raw.info["sfreq"])
        self.name = bdf.name
        self._n = int(self._raw.n_times)
        self._factor = np.array([_TO_CHANNEL_UNIT.get(c.unit, 1.0) if c.type == "EMG" else 1.0
                                 for c in self.channel_specs])

    def __len__(self) -> int:
        return self._n

    @property
    def channel_labels(self) -> list[str]:
        return [c.label for c in self.channel_specs]

    @property
    def sites(self) -> list[str | None]:
        from mimicsync.dataset.electrodes import site_label
        return [site_label(lab) for lab in self.channel_labels]

    @property
    def scale(self) -> np.ndarray:
        return np.ones(len(self.channel_specs))

    def physical(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``start:stop`` in the channel units, ``(n, channels)`` float32."""
        stop = self._n if stop is None else min(stop, self._n)
        x = self._raw.get_data(start=max(0, start), stop=stop)
        return (x.T * self._factor).astype(np.float32)


class _WindowReader:
    def __init__(self, s: BidsStream, n: int) -> None:
        self._s, self._n = s, n

    def read(self, start: int) -> np.ndarray:
        return self._s.physical(start, start + self._n)


def _channels(bdf: Path) -> list[ChannelSpec]:
    stem = bdf.name.removesuffix("_emg.bdf")
    rows = read_tsv(bdf.with_name(f"{stem}_channels.tsv"))
    pos = {}
    for el in bdf.parent.glob("*_electrodes.tsv"):
        pos |= {r["name"]: (float(r["x"]), float(r["y"])) for r in read_tsv(el)}
    out = []
    for r in rows:
        x, y = pos.get(r["name"], (math.nan, math.nan))
        unit = r.get("units", "")
        out.append(ChannelSpec(r["name"], unit="" if unit == "n/a" else unit,
                               type=_TYPES.get(r.get("type", ""), "MISC"),
                               scheme="" if r.get("group", "n/a") == "n/a" else r["group"],
                               muscle="" if r.get("target_muscle", "n/a") == "n/a"
                               else r["target_muscle"], x_mm=x, y_mm=y))
    return out


class BidsRecording:
    """One exported recording (``…_emg.bdf`` and its sidecars); a context manager."""

    def __init__(self, bdf: str | Path) -> None:
        self.path = Path(bdf)
        if not self.path.exists():
            raise RecordingError("file", f"{self.path} does not exist", "give an _emg.bdf file")
        stem = self.path.name.removesuffix("_emg.bdf")
        self._stem = self.path.with_name(stem)
        self._emg = BidsStream(self.path, _channels(self.path))
        mp4 = Path(f"{self._stem}_video.mp4")
        self._video = None
        if mp4.exists():
            from mimicsync.dataset.mp4_frames import Mp4Frames
            meta = json.loads(Path(f"{self._stem}_video.json").read_text())
            self._video = Mp4Frames(mp4, float(meta.get("StartTime", 0.0)))
            self._video_meta = meta
        self._events_path = Path(f"{self._stem}_events.tsv")

    def __enter__(self) -> "BidsRecording":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._video is not None:
            self._video.close()

    # -- what the readers use ---------------------------------------------------------
    @property
    def streams(self) -> dict[str, BidsStream]:
        return {EMG_KEY: self._emg}

    def emg_stream(self) -> BidsStream:
        return self._emg

    def stream(self, key: str) -> BidsStream:
        if key not in (EMG_KEY, self._emg.name):
            raise KeyError(f"no stream '{key}' in {self.path.name}; streams: {EMG_KEY}")
        return self._emg

    def window_reader(self, key: str, n: int) -> _WindowReader:
        return _WindowReader(self.stream(key), n)

    def timeline(self, stream_key: str) -> np.ndarray:
        """The BDF sample clock: sample k at k / rate; frames at their MP4 times."""
        if stream_key == VIDEO:
            return self.frame_times
        return np.arange(len(self._emg)) / self._emg.srate

    @property
    def is_synced(self) -> bool:
        """The export says whether its source was synchronised (``_video.json``)."""
        return self._video is None or bool(self._video_meta.get("Synchronized", False))

    def check_synced(self, require_synced: bool = False) -> bool:
        return warn_unsynced(self.is_synced, self.path, require_synced)

    @property
    def has_video(self) -> bool:
        return self._video is not None

    @property
    def has_depth(self) -> bool:
        return False

    @property
    def n_frames(self) -> int:
        return len(self._video) if self._video is not None else 0

    @property
    def fps(self) -> float:
        return float(self._video_meta.get("NominalFrameRate", 0.0)) if self._video else 0.0

    @property
    def frame_times(self) -> np.ndarray:
        return self._video.times.copy() if self._video is not None else np.zeros(0)

    def color(self, i: int) -> np.ndarray:
        """Decoded RGB frame ``i`` (H, W, 3) uint8."""
        if self._video is None:
            raise RecordingError("file", f"{self.path.name} has no video beside it",
                                 "use a participant who consented to video")
        return self._video.frame(i)

    @property
    def events(self) -> list[Event]:
        out = []
        for r in read_tsv(self._events_path):
            extra = {k: v for k, v in r.items()
                     if k not in ("onset", "duration", "trial_type", "value", "sample")
                     and v not in ("", "n/a")}
            out.append(Event(float(r["onset"]), float(r.get("duration") or 0.0),
                             r.get("trial_type", ""), "" if r.get("value") == "n/a"
                             else r.get("value", ""), extra))
        return out

    @property
    def movements(self) -> list:
        from mimicsync.dataset.labels import movement_intervals
        return movement_intervals(self.events)
