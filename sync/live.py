"""Live tap and trigger detection with a running video − sEMG offset, chunk by chunk.

The recorder and the GUI call :meth:`LiveSync.push_emg` with each sEMG chunk and
:meth:`LiveSync.push_frame` with each (small grayscale) frame as they arrive; both return
at once with the events they confirmed. Each chunk is processed exactly once (no
re-analysis of a window), with the offline chain's steps and parameters
(:mod:`.emg_taps`, :mod:`.video_cells`), so live and offline detections agree to within
a sample or a frame. Memory is bounded: about a second of sEMG envelope, ten frames of
cells and the last ``max_events`` events; pure numpy, no threads, no I/O.

Latency: a tap is confirmed ``peak_search_s + post_window_s[1]`` (≈ 0.3 s) after its
onset in the sEMG (the transience test needs the quarter second after the peak), and
about five frames after the strike in the video (the burst must be followed by stillness).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.signal import butter, sosfilt, sosfilt_zi

from mimicsync.sync.emg_taps import EmgTapParams
from mimicsync.sync.match import SyncRefused, match_events
from mimicsync.sync.onsets import rising_crossing
from mimicsync.sync.robust import line_fit
from mimicsync.sync.video_cells import LIGHT_CELL, MOTION_CELL, _cells_in, cell_means
from mimicsync.sync.video_events import Box, VideoTapParams
from mimicsync.sync.zscore import ZScoreDetector, ZScoreParams

KIND_GROUP = {"trigger_on": 0, "trigger_off": 1, "tap": 2}


@dataclass(frozen=True)
class LiveEvent:
    modality: str  # "emg" or "video"
    kind: str  # "tap", "trigger_on", "trigger_off"
    time: float  # s, on the clock of the times pushed
    strength: float  # sEMG: SNR; video: peak spikiness or brightness step


class _Ring:
    """The last ``cap`` values of a 1-D signal, addressed by global sample index."""

    def __init__(self, cap: int) -> None:
        self.buf = np.zeros(cap)
        self.cap = cap
        self.end = 0  # global index one past the newest value

    def extend(self, x: np.ndarray) -> None:
        x = np.asarray(x, float)[-self.cap:]
        n = x.size
        self.buf = np.roll(self.buf, -n)
        self.buf[self.cap - n:] = x
        self.end += n

    def get(self, a: int, b: int) -> np.ndarray:
        """Values of global indices ``a..b-1`` (clipped to what is kept)."""
        a = max(a, self.end - self.cap, 0)
        b = min(b, self.end)
        return self.buf[self.cap - (self.end - a): self.cap - (self.end - b)] if b > a else np.zeros(0)


class EmgTapStream:
    """Incremental :func:`~mimicsync.sync.emg_taps.emg_tap_onsets` plus trigger edges."""

    def __init__(self, srate: float, n_channels: int, *, emg_channels: list[int] | None = None,
                 trigger_channel: int | None = None, params: EmgTapParams = EmgTapParams(),
                 warmup_s: float = 1.0) -> None:
        self.fs, self.p = float(srate), params
        self.emg = list(range(n_channels)) if emg_channels is None else list(emg_channels)
        self.trig = trigger_channel
        self.sos = butter(4, params.highpass_hz, btype="highpass", fs=self.fs, output="sos")
        self.zi = None
        self.tail = None  # last two high-passed rows (Teager–Kaiser needs the next sample)
        self.k = min(params.top_k or max(1, len(self.emg) // 8), len(self.emg))
        self.width = max(1, int(round(params.smooth_s * self.fs)))
        self.smooth_tail = np.zeros(self.width - 1)
        zp = ZScoreParams.from_rate(self.fs, lag_s=params.lag_s, threshold=params.threshold,
                                    influence=params.influence)
        self.z = ZScoreDetector(zp)
        s = lambda sec: max(1, int(round(sec * self.fs)))  # noqa: E731
        self.merge, self.search, self.base = s(params.merge_gap_s), s(params.peak_search_s), s(params.baseline_s)
        self.post = (s(params.post_window_s[0]), s(params.post_window_s[1]))
        self.guard = s(0.002)
        self.env = _Ring(self.base + self.guard + self.search + self.post[1] + s(0.1))
        self.n_env = 0  # envelope samples produced (global index of the next one)
        self.scale: np.ndarray | None = None
        self.warm: list[np.ndarray] = []
        self.warmup = s(warmup_s)
        self.first_flag: int | None = None
        self.last_flag = -10**12
        self.last_kept = -np.inf
        self.stamps: deque[tuple[int, float]] = deque(maxlen=64)  # (sample index, stamp)
        self.n_in = 0
        self.trig_state: bool | None = None
        self.trig_lo, self.trig_hi = np.inf, -np.inf
        self.trig_prev = 0.0

    # -- time ------------------------------------------------------------------------
    def _time(self, idx: float) -> float:
        """Dejittered time of (fractional) sample ``idx``: a line through recent stamps."""
        pts = np.array(self.stamps)
        if len(pts) < 2:
            return float(pts[-1, 1] + (idx - pts[-1, 0]) / self.fs)
        a, b = line_fit(pts[:, 0] - pts[-1, 0], pts[:, 1])
        return float(a + b * (idx - pts[-1, 0]))

    # -- chunks ----------------------------------------------------------------------
    def push(self, data: np.ndarray, timestamps: np.ndarray) -> list[LiveEvent]:
        x = np.asarray(data, dtype=float)
        ts = np.asarray(timestamps, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[0] == 0:
            return []
        for i in range(0, x.shape[0], 32):
            self.stamps.append((self.n_in + i, float(ts[i])))
        self.stamps.append((self.n_in + x.shape[0] - 1, float(ts[-1])))
        events = self._triggers(x, ts) if self.trig is not None else []
        self.n_in += x.shape[0]
        events += self._taps(x[:, self.emg])
        return events

    def _triggers(self, x: np.ndarray, ts: np.ndarray) -> list[LiveEvent]:
        v = x[:, self.trig]
        self.trig_lo, self.trig_hi = min(self.trig_lo, v.min()), max(self.trig_hi, v.max())
        if self.trig_hi - self.trig_lo <= 0:
            self.trig_prev = float(v[-1])
            return []
        level = (self.trig_lo + self.trig_hi) / 2
        y = np.concatenate(([self.trig_prev], v))
        self.trig_prev = float(v[-1])
        out = []
        for kind, idx in (("trigger_on", np.flatnonzero((y[:-1] < level) & (y[1:] >= level))),
                          ("trigger_off", np.flatnonzero((y[:-1] >= level) & (y[1:] < level)))):
            for i in idx:
                frac = i - 1 + (level - y[i]) / (y[i + 1] - y[i])
                out.append(LiveEvent("emg", kind, self._time(self.n_in + frac), 1.0))
        return sorted(out, key=lambda e: e.time)

    def _taps(self, x: np.ndarray) -> list[LiveEvent]:
        if self.zi is None:
            self.zi = sosfilt_zi(self.sos)[:, :, None] * x[0][None, None, :]
        hp, self.zi = sosfilt(self.sos, x, axis=0, zi=self.zi)
        ext = hp if self.tail is None else np.concatenate((self.tail, hp))
        self.tail = ext[-2:]
        if ext.shape[0] < 3:
            return []
        energy = np.maximum(ext[1:-1] ** 2 - ext[:-2] * ext[2:], 0.0)
        if self.scale is None:  # first second: learn each channel's typical energy
            self.warm.append(energy[::8])
            if sum(len(w) for w in self.warm) * 8 < self.warmup:
                self.n_env += energy.shape[0]
                self.env.extend(np.zeros(energy.shape[0]))  # keeps ring and index in step
                return []
            self.scale = np.median(np.concatenate(self.warm), axis=0) + np.finfo(float).tiny
            self.warm = []
        e = energy / self.scale
        nc = e.shape[1]
        comb = np.partition(e, nc - self.k, axis=1)[:, nc - self.k:].mean(axis=1)
        padded = np.concatenate((self.smooth_tail, comb))
        self.smooth_tail = padded[len(padded) - (self.width - 1):] if self.width > 1 else np.zeros(0)
        c = np.cumsum(np.concatenate(([0.0], padded)))
        env = (c[self.width:] - c[:-self.width]) / self.width
        flags = self.z.push(env).signals > 0
        start = self.n_env
        self.env.extend(env)
        self.n_env += env.size
        out = []
        for i in np.flatnonzero(flags) + start:
            if self.first_flag is None and i - self.last_flag >= self.merge:
                self.first_flag = int(i)
            self.last_flag = int(i)
        while self.first_flag is not None and self.n_env >= self.first_flag + self.search + self.post[1]:
            ev = self._decide(self.first_flag)
            self.first_flag = None
            if ev is not None:
                out.append(ev)
        return out

    def _decide(self, f: int) -> LiveEvent | None:
        """The offline tests for one event whose envelope is complete (see emg_taps)."""
        p = self.p
        b0 = max(0, f - self.guard - self.base)
        seg = self.env.get(b0, f + self.search + self.post[1])
        fi = f - b0
        if seg.size <= fi:
            return None
        pk = fi + int(np.argmax(seg[fi: fi + self.search]))
        base = float(np.median(seg[: max(1, fi - self.guard)]))
        peak = float(seg[pk])
        snr = float(np.sqrt(peak / base)) if base > 0 else np.inf
        post = seg[pk + self.post[0]: pk + self.post[1]]
        rise = peak - base
        post_ratio = (np.median(post) - base) / rise if post.size and rise > 0 else 0.0
        if snr < p.min_snr or post_ratio > p.max_post_ratio:
            return None
        onset = rising_crossing(seg, base + p.onset_fraction * rise, 0, pk)
        # envelope index i averages samples i−width+2 … i+1 (Teager–Kaiser starts at
        # sample 1, the moving average is causal); offline centres the same window
        idx = b0 + onset + 2 - self.width + self.width // 2
        t = self._time(idx)
        if t - self.last_kept < p.refractory_s:
            return None
        self.last_kept = t
        return LiveEvent("emg", "tap", t, float(snr))


class VideoTapStream:
    """Incremental video taps (pooled motion spikiness) and LED edges (given box)."""

    def __init__(self, fps: float = 30.0, *, scale: float = 1.0, led_box: Box | None = None,
                 params: VideoTapParams = VideoTapParams(), min_tap_peak: float = 0.5,
                 pool: int = 3, top_fraction: float = 0.05, side: int = 4) -> None:
        """``scale``: full-resolution pixels per pixel of the pushed frames (for ``led_box``)."""
        self.fps, self.scale, self.led_box, self.p = fps, scale, led_box, params
        self.min_peak, self.pool, self.top, self.side = min_tap_peak, pool, top_fraction, side
        self.prev: np.ndarray | None = None
        self.motion: deque[np.ndarray] = deque(maxlen=2 * side + 1)
        self.times: deque[float] = deque(maxlen=2 * side + 2)
        zp = ZScoreParams.from_rate(fps, lag_s=params.lag_s, threshold=params.threshold,
                                    influence=params.influence)
        self.z = ZScoreDetector(zp)
        self.pending: list[tuple[float, float, float]] = []  # (time, value, baseline)
        self.recent: deque[float] = deque(maxlen=int(fps * params.baseline_s))
        self.peaks: deque[float] = deque(maxlen=8)
        self.last_kept = -np.inf
        self.led_lo, self.led_hi = np.inf, -np.inf
        self.led_prev: tuple[float, float] | None = None
        self.keep: np.ndarray | None = None

    def push(self, time: float, gray: np.ndarray) -> list[LiveEvent]:
        """One frame: its time and a small grayscale image (e.g. ~160 px across)."""
        g = np.asarray(gray, dtype=np.float32)
        if g.ndim == 3:
            g = g[..., 0]
        out = self._led(time, g) if self.led_box is not None else []
        if self.prev is not None:
            m = cell_means(np.abs(g - self.prev), MOTION_CELL)
            if self.keep is None:
                self.keep = self._keep(m.shape)
            m = uniform_filter(m * self.keep, self.pool, mode="constant")
            self.motion.append(m.ravel())
        self.prev = g
        self.times.append(float(time))
        if len(self.motion) == self.motion.maxlen:
            out += self._spike()
        return out

    def _keep(self, shape: tuple[int, int]) -> np.ndarray:
        keep = np.ones(shape[0] * shape[1], bool)
        if self.led_box is not None:
            x0, y0, x1, y1 = self.led_box
            px = self.scale * MOTION_CELL
            keep[_cells_in((x0 - px, y0 - px, x1 + px, y1 + px), px, *shape)] = False
        return keep.reshape(shape)

    def _spike(self) -> list[LiveEvent]:
        m = np.stack(self.motion)  # diffs k−side .. k+side; the middle one is judged
        s = self.side
        sp = m[s] - np.maximum(np.median(m[:s], axis=0), np.median(m[s + 1:], axis=0))
        k = max(1, int(round(self.top * sp.size)))
        v = float(np.clip(np.partition(sp, sp.size - k)[-k:].mean(), 0, None))
        t_mid = (self.times[s] + self.times[s + 1]) / 2  # diff s joins frames s and s+1
        flagged = bool(self.z.push([v]).signals[0] > 0)
        base = float(np.median(self.recent)) if self.recent else 0.0
        self.recent.append(v)
        out = []
        if flagged:
            self.pending.append((t_mid, v, base))
        if self.pending and t_mid - self.pending[0][0] >= self.p.peak_search_s:
            t, peak, b = max(self.pending, key=lambda e: e[1])
            self.pending = []
            typical = float(np.median(self.peaks)) if len(self.peaks) >= 3 else 0.0
            if (peak / max(b, 1e-6) >= self.p.min_snr and peak >= self.min_peak * typical
                    and t - self.last_kept >= self.p.refractory_s):
                self.last_kept = t
                self.peaks.append(peak)
                out.append(LiveEvent("video", "tap", t, peak))
        return out

    def _led(self, time: float, g: np.ndarray) -> list[LiveEvent]:
        cells = cell_means(g, LIGHT_CELL)
        sel = _cells_in(self.led_box, self.scale * LIGHT_CELL, *cells.shape)
        b = float(cells.ravel()[sel].mean())
        self.led_lo, self.led_hi = min(self.led_lo, b), max(self.led_hi, b)
        out = []
        if self.led_prev is not None and self.led_hi - self.led_lo > 20:
            level = (self.led_lo + self.led_hi) / 2
            t0, b0 = self.led_prev
            if b0 < level <= b:
                out.append(LiveEvent("video", "trigger_on", (t0 + time) / 2, b - b0))
            elif b0 >= level > b:
                out.append(LiveEvent("video", "trigger_off", (t0 + time) / 2, b0 - b))
        self.led_prev = (time, b)
        return out


@dataclass(frozen=True)
class LiveStatus:
    emg_taps: tuple[float, ...]
    video_taps: tuple[float, ...]
    emg_triggers: int
    video_triggers: int
    offset_ms: float | None  # video − sEMG, None until events match
    confidence: float
    matched: int


class LiveSync:
    """Both detectors and the running offset (robust matching of the recent events)."""

    def __init__(self, emg: EmgTapStream, video: VideoTapStream, *, max_events: int = 64,
                 max_offset_s: float = 2.0) -> None:
        self.emg, self.video = emg, video
        self.events = {(m, k): deque(maxlen=max_events) for m in ("emg", "video")
                       for k in KIND_GROUP}  # the last max_events of each kind
        self.max_offset_s = max_offset_s
        self._status: LiveStatus | None = None

    def push_emg(self, data: np.ndarray, timestamps: np.ndarray) -> list[LiveEvent]:
        return self._add(self.emg.push(data, timestamps))

    def push_frame(self, time: float, gray: np.ndarray) -> list[LiveEvent]:
        return self._add(self.video.push(time, gray))

    def _add(self, evs: list[LiveEvent]) -> list[LiveEvent]:
        for e in evs:
            self.events[e.modality, e.kind].append(e)
        if evs:
            self._status = None
        return evs

    def status(self) -> LiveStatus:
        """Taps so far and the offset; re-matched only when events arrived (a few ms)."""
        if self._status is None:
            self._status = self._compute()
        return self._status

    def _compute(self) -> LiveStatus:
        e = [x for k in KIND_GROUP for x in self.events["emg", k]]
        v = [x for k in KIND_GROUP for x in self.events["video", k]]
        offset, conf, n = None, 0.0, 0
        if len(e) >= 2 and len(v) >= 2:
            try:
                m = match_events([x.time for x in e], [x.time for x in v],
                                 groups=([KIND_GROUP[x.kind] for x in e],
                                         [KIND_GROUP[x.kind] for x in v]),
                                 tolerance_s=0.03, max_offset_s=self.max_offset_s,
                                 min_confidence=0.0)
                if m.n_matched >= 2:
                    # support × uniqueness: video onsets scatter over a frame, so the
                    # residuals say little about the alignment here
                    offset, n = m.offset_s * 1e3, m.n_matched
                    conf = (1 - 0.5 ** (n - 1)) * (1 - np.exp(-max(0, n - m.runner_up)))
            except SyncRefused:
                pass
        times = lambda mod, kind: tuple(x.time for x in self.events[mod, kind])  # noqa: E731
        return LiveStatus(times("emg", "tap"), times("video", "tap"),
                          len(self.events["emg", "trigger_on"]),
                          len(self.events["video", "trigger_on"]), offset, float(conf), n)
