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

import time as _time
from collections import deque
from dataclasses import dataclass
from itertools import islice

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi

from mimicsync.sync.arrivals import ArrivalParams, contacts, strong
from mimicsync.sync.brackets import VideoOnsets
from mimicsync.sync.emg_taps import EmgTapParams
from mimicsync.sync.event_fit import EventFitParams, LowConfidence, accuracy_s, fit_events
from mimicsync.sync.exposure import Exposure, led_switches
from mimicsync.sync.match import SyncRefused
from mimicsync.sync.onsets import rising_crossing
from mimicsync.sync.robust import line_fit
from mimicsync.sync.video_cells import (
    LIGHT_CELL,
    MOTION_CELL,
    CellScan,
    _row_gain,
    cell_means,
    led_trace,
)
from mimicsync.sync.video_events import Box
from mimicsync.sync.zscore import ZScoreDetector, ZScoreParams

KIND_GROUP = ("trigger_on", "trigger_off", "tap")


@dataclass(frozen=True)
class LiveEvent:
    modality: str  # "emg" or "video"
    kind: str  # "tap", "trigger_on", "trigger_off"
    time: float  # s, on the clock of the times pushed
    strength: float  # sEMG: SNR; video: the change a contact left, or the bracket width
    lo: float = float("nan")  # video: the bracket the event lies in
    hi: float = float("nan")


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
        self.peak = _Ring(self.env.cap)  # largest |high-passed| sample, same indices
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
        self.peak.extend(np.abs(ext[1:-1]).max(axis=1))  # for the amplitude test
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
        # the offline tests: strong (Teager SNR, or amplitude for a slow tap), transient
        pk_seg = self.peak.get(b0, f + self.search + self.post[1])
        base_amp = pk_seg[: max(1, fi - self.guard)]
        amp = (float(pk_seg[fi: pk + s5].max()) / max(float(np.percentile(base_amp, 95)), 1e-12)
               if pk_seg.size > fi and (s5 := max(1, int(round(0.005 * self.fs)))) else 0.0)
        if (snr < p.min_snr and amp < p.min_amp_snr) or post_ratio > p.max_post_ratio:
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
    """Incremental tap contacts and LED edges: the offline detectors
    (:func:`.arrivals.contacts`, :func:`.video_cells.led_trace`, :mod:`.exposure`) run on a
    sliding window of cell scans every ``step_s``; an event is reported once it lies well
    inside the window (the contact needs the hand's rest after it), so live and offline
    see the same events. Without ``led_box`` the LED is found as offline finds it (score ≥
    ``min_led_score``) and then kept, on all frames so far up to the last ``led_search_s``
    (from ``led_min_search_s`` on): in one window the usual variation of a cell is barely
    known, and a hand arriving in one cell scored as an LED there. The edges of that
    history are reported when the LED is found. Live frames carry no exposure metadata:
    they are taken as instants of their host arrival time."""

    def __init__(self, fps: float = 30.0, *, scale: float = 1.0, led_box: Box | None = None,
                 height: int | None = None, window_s: float = 4.0, step_s: float = 0.5,
                 min_led_score: float = 25.0, led_search_s: float = 30.0,
                 led_min_search_s: float | None = None,
                 arrivals: ArrivalParams = ArrivalParams()) -> None:
        """``scale``: full-resolution pixels per pixel of the pushed frames (for ``led_box``)."""
        self.fps, self.scale, self.led_box, self.p = fps, scale, led_box, arrivals
        self.height, self.min_led_score = height, min_led_score
        n = self.window = max(8, int(round(window_s * fps)))
        # light cells and times: the window is the last n; with no LED known yet, up to
        # led_search_s of them are kept for its search
        m = n if led_box is not None else max(n, int(round(led_search_s * fps)))
        self.light: deque[np.ndarray] = deque(maxlen=m)
        self.times: deque[float] = deque(maxlen=m)
        self.min_search = n if led_min_search_s is None else max(8, int(round(led_min_search_s * fps)))
        self.motion: deque[np.ndarray] = deque(maxlen=n)
        self.prev: np.ndarray | None = None
        self.step = max(1, int(round(step_s * fps)))
        self.pushed = 0
        self.reported: dict[str, float] = {"tap": -np.inf, "trigger_on": -np.inf,
                                           "trigger_off": -np.inf}
        self.led_score = 0.0

    def push(self, time: float, gray: np.ndarray) -> list[LiveEvent]:
        """One frame: its time and a small grayscale image (e.g. ~160 px across)."""
        g = np.asarray(gray, dtype=np.float32)
        if g.ndim == 3:
            g = g[..., 0]
        if self.prev is not None and g.shape == self.prev.shape:
            self.motion.append(cell_means(np.abs(g - self.prev * _row_gain(g, self.prev)),
                                          MOTION_CELL))
        else:
            self.motion.clear()
            self.light.clear()
            self.times.clear()
        self.prev = g
        self.light.append(cell_means(g, LIGHT_CELL))
        self.times.append(float(time))
        self.pushed += 1
        if self.pushed % self.step or len(self.light) < 2 * self.step:
            return []
        return self._analyse(g.shape[0])

    def _analyse(self, small_h: int) -> list[LiveEvent]:
        first = max(0, len(self.times) - self.window)
        t = np.array(self.times)[first:]
        light = np.stack(list(islice(self.light, first, None)))
        motion = np.stack(list(self.motion)[-(len(t) - 1):])
        sc = CellScan(light, motion, self.scale)
        exp = Exposure(t, np.zeros(t.size), 0.0, self.height or int(small_h * self.scale), False)
        # settled: far enough from the window's end that the detectors' look-ahead is in
        settled = t[-1] - (self.p.quiet + 3) / self.fps
        out = []
        led_scan, led_exp = sc, exp  # where LED edges are looked for: this window
        if self.led_box is None and len(self.light) >= self.min_search:
            history = CellScan(np.stack(self.light), sc.motion[:0], self.scale)
            ht = np.array(self.times)
            found, score = led_trace(history, ht)
            self.led_score = max(self.led_score, score)
            if score >= self.min_led_score:
                self.led_box = found.roi  # found: kept from now on
                led_scan = history  # once: the edges it had before it was found
                led_exp = Exposure(ht, np.zeros(ht.size), 0.0, exp.height, False)
        if self.led_box is not None:
            led, score = led_trace(led_scan, led_exp.clock, self.led_box)
            self.led_score = max(self.led_score, score)
            row = (self.led_box[1] + self.led_box[3]) / 2
            for kind, edges in led_switches(led.values, led_exp, row).items():
                for e in _take(edges):
                    out += self._report(kind, e, settled, abs(float(e.hi[0] - e.lo[0])))
        found = contacts(sc, exp, exclude=self.led_box, p=self.p)
        for j, e in enumerate(_take(found.onsets)):
            out += self._report("tap", e, settled, float(found.strength[j]))
        return out

    def _report(self, kind: str, e: VideoOnsets, settled: float, strength: float) -> list[LiveEvent]:
        sep = self.p.separation_s if kind == "tap" else 0.05
        if e.hi[0] > settled or e.times[0] <= self.reported[kind] + sep:
            return []
        self.reported[kind] = float(e.times[0])
        return [LiveEvent("video", kind, float(e.times[0]), strength, float(e.lo[0]),
                          float(e.hi[0]))]


def _take(v: VideoOnsets) -> list[VideoOnsets]:
    return [v.take(np.array([i])) for i in range(v.times.size)]


@dataclass(frozen=True)
class LiveStatus:
    emg_taps: tuple[float, ...]
    video_taps: tuple[float, ...]
    emg_triggers: int
    video_triggers: int
    offset_ms: float | None  # video − sEMG, None until events match
    confidence: float
    matched: int
    state: str = "waiting for events"  # "will sync …", "tap N more times", "will be refused: …"
    will_sync: bool = False
    uncertainty_ms: float = float("nan")


class LiveSync:
    """Both detectors, and what offline sync would decide about the events so far: the
    same fit (:func:`.event_fit.fit_events`) with the same acceptance rules and threshold,
    over every event of the recording (times only, a few bytes each)."""

    def __init__(self, emg: EmgTapStream, video: VideoTapStream, *,
                 params: EventFitParams = EventFitParams(), min_tap_peak: float = 0.5,
                 min_interval_s: float = 1.0) -> None:
        self.emg, self.video, self.params = emg, video, params
        self.min_tap_peak = min_tap_peak
        self.events: dict[tuple[str, str], list[LiveEvent]] = {
            (m, k): [] for m in ("emg", "video") for k in KIND_GROUP}
        self.min_interval_s = min_interval_s  # refit at most this often (it costs ~0.1 s)
        self._status: LiveStatus | None = None
        self._fitted_at = -np.inf

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

    def status(self, now: float | None = None) -> LiveStatus:
        """Events so far and the verdict; refitted when events arrived, at most once per
        ``min_interval_s`` of wall time and never more than a fifth of it (``now``: a
        monotonic clock, default ``time.monotonic``)."""
        now = _time.monotonic() if now is None else now
        if self._status is None and (now - self._fitted_at >= self._wait or self._last is None):
            t = _time.perf_counter()
            self._last = self._compute()
            # long recordings hold thousands of events: refit less often, so the fit
            # never takes more than a fifth of the time
            self._wait = max(self.min_interval_s, 5 * (_time.perf_counter() - t))
            self._status, self._fitted_at = self._last, now
        return self._status if self._status is not None else self._last

    _wait: float = 0.0

    _last: LiveStatus | None = None

    def final_status(self) -> LiveStatus:
        """The verdict on all events now (no throttling): at the end of a recording."""
        self._last = self._status = self._compute()
        return self._status

    def _compute(self) -> LiveStatus:
        ev = self.events
        emg = {k: np.array([x.time for x in ev["emg", k]]) for k in KIND_GROUP}
        video = {k: VideoOnsets(np.array([x.time for x in ev["video", k]]),
                                np.array([x.lo for x in ev["video", k]]),
                                np.array([x.hi for x in ev["video", k]]),
                                np.zeros(len(ev["video", k]), bool)) for k in KIND_GROUP}
        taps = video["tap"]
        strength = np.array([x.strength for x in ev["video", "tap"]])
        vote = {"tap": taps.take(np.flatnonzero(strong(strength, self.min_tap_peak)))}
        base = dict(emg_taps=tuple(emg["tap"]), video_taps=tuple(taps.times),
                    emg_triggers=len(emg["trigger_on"]),
                    video_triggers=len(video["trigger_on"].times))
        frame = 1.0 / self.video.fps
        try:
            r = fit_events(emg, video, frame, self.params, vote=vote)
        except LowConfidence as e:
            return LiveStatus(**base, offset_ms=e.result.fit.offset_s * 1e3,
                              confidence=e.result.confidence, matched=e.result.n_used,
                              state=_advice(e.reason, emg, video, e.result.n_used))
        except SyncRefused as e:
            return LiveStatus(**base, offset_ms=None, confidence=0.0, matched=0,
                              state=_advice(e.reason, emg, video, 0))
        span = [min(x[0] for x in emg.values() if len(x)), max(x[-1] for x in emg.values() if len(x))]
        unc = accuracy_s(r, span[0], span[1]) * 1e3
        return LiveStatus(**base, offset_ms=r.fit.offset_s * 1e3, confidence=r.confidence,
                          matched=r.n_used, state=f"will sync: ±{unc:.1f} ms from {r.n_used} events",
                          will_sync=True, uncertainty_ms=unc)


TAPS_NEEDED = 6  # per end of the recording without LED (the taps-only protocol: 6 + 6)


def _advice(reason: str, emg: dict, video: dict, matched: int) -> str:
    """One actionable line: tap more while taps are simply too few, else why it would fail."""
    n_trig = min(len(emg["trigger_on"]), len(video["trigger_on"].times))
    taps = min(len(emg["tap"]), len(video["tap"].times))
    if n_trig < 3 and taps < 2 * TAPS_NEEDED and ("only" in reason or "no taps" in reason
                                                  or "ambiguous" in reason):
        return f"tap {max(1, 2 * TAPS_NEEDED - taps)} more times"
    return f"will be refused: {reason.split('; tap the')[0]}"
