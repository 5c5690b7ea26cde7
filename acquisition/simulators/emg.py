"""A simulated facial sEMG amplifier: a real LSL outlet driven by a :class:`Scenario`.

Signal per channel (µV, float32): band-limited noise (20-450 Hz) whose RMS follows the
current movement's muscle activity (see :mod:`~mimicsync.dataset.electrodes`), mains
hum, tap artifacts near the tap position, and a 0/1 trigger channel.

Its clock is deliberately wrong, with a known truth, so sync can be tested: sample k
happens at true time ``t_k = t_start + k / srate`` on the host LSL clock and is stamped
``t_k + offset_s + drift_ppm * 1e-6 * (t_k - t_start) + N(0, jitter_s)``. The truth goes
into the stream description (``<desc><simulation>``), so any recording of the stream
keeps it, and is returned by :meth:`EmgSimulator.ground_truth`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np
import pylsl
from scipy import signal

from mimicsync.acquisition.lsl_meta import add_channels
from mimicsync.acquisition.simulators.scenario import Scenario
from mimicsync.dataset import electrodes as el
from mimicsync.format import ChannelSpec

log = logging.getLogger(__name__)

STREAM_TYPE = "EMG"
CLOCK_MODEL = "stamp = t_true + offset_s + drift_ppm*1e-6*(t_true - t_start) + N(0, jitter_s)"
_ENVELOPE_STEP = 16  # samples between envelope evaluations (4 ms at 4096 Hz), then linear


def _pulse(tau: np.ndarray, rise_s: float) -> np.ndarray:
    """Alpha pulse peaking (at 1) ``rise_s`` after onset; 0 before onset."""
    x = np.maximum(tau, 0.0) / rise_s
    return x * np.exp(1.0 - x)


class TapShape:
    """Biphasic tap artifact: a sharp positive peak and a slower negative overshoot.

    The difference of two alpha pulses (rise r and 3r, areas r*e and 3r*e/3) has zero area,
    so the artifact leaves no DC; it is normalised to a peak of 1.
    """

    def __init__(self, rise_s: float = 0.003) -> None:
        self.rise_s = rise_s
        self.duration_s = 45 * rise_s  # the slow lobe has decayed below 1e-5 by then
        fine = np.linspace(0.0, 5 * rise_s, 5001)
        self._norm = 1.0 / self._raw(fine).max()

    def _raw(self, tau: np.ndarray) -> np.ndarray:
        return _pulse(tau, self.rise_s) - _pulse(tau, 3 * self.rise_s) / 3.0

    def __call__(self, tau: np.ndarray) -> np.ndarray:
        return self._raw(tau) * self._norm


class EmgSimulator:
    """Simulated amplifier: :meth:`generate` for data, :meth:`start` to stream it over LSL.

    Not thread-safe: while started, only the streaming thread may generate.
    """

    def __init__(
        self,
        scenario: Scenario,
        channels: Sequence[ChannelSpec] | None = None,
        srate: float = 4096.0,
        *,
        name: str = "mimicsync EMG simulator",
        source_id: str | None = None,
        serial_number: str | None = None,
        offset_s: float = 0.0,
        drift_ppm: float = 0.0,
        jitter_s: float = 0.0,
        seed: int | None = None,
        t_start: float | None = None,
        rest_rms_uv: float = el.REST_RMS_UV,
        line_freq_hz: float = 50.0,
        line_amp_uv: float = 3.0,
        tap_amp_uv: float = 400.0,
        tap_sigma_mm: float = 20.0,
        tap_rise_s: float = 0.003,
        spatial_sigma_mm: float = 15.0,
        chunk_s: float = 1 / 64,
    ) -> None:
        """``channels`` default to :func:`electrodes.default_channels` (64 at 4096 Hz).

        ``line_amp_uv`` is the hum's peak amplitude before a per-channel gain (0.5-1.5);
        ``tap_amp_uv`` the artifact peak at the contact point, falling off with distance as
        exp(-d^2 / (2 tap_sigma_mm^2)); ``spatial_sigma_mm`` is the volume-conduction
        width for channels that are not Fridlund electrodes. ``seed`` None draws one (it
        is reported in the ground truth, so a run can be reproduced).
        """
        self.scenario = scenario
        self.channels = list(channels) if channels is not None else el.default_channels()
        self.srate = float(srate)
        self.name = name
        self.offset_s, self.drift_ppm, self.jitter_s = offset_s, drift_ppm, jitter_s
        self.seed = int(np.random.SeedSequence().generate_state(1)[0]) if seed is None else seed
        self.serial_number = serial_number or f"SIM-EMG-{self.seed:08X}"
        self.source_id = source_id or f"mimicsync-emg-{self.serial_number}"
        self.t_start = t_start
        self.rest_rms_uv, self.line_freq_hz = rest_rms_uv, line_freq_hz
        self.line_amp_uv, self.tap_amp_uv, self.tap_sigma_mm = line_amp_uv, tap_amp_uv, tap_sigma_mm
        self.chunk = max(1, round(chunk_s * self.srate))

        noise_seq, hum_seq, jitter_seq = np.random.SeedSequence(self.seed).spawn(3)
        self._rng = np.random.default_rng(noise_seq)
        self._jitter_rng = np.random.default_rng(jitter_seq)
        self._trig = np.array([c.type == "TRIG" for c in self.channels])
        self._init_hum(np.random.default_rng(hum_seq))
        self._mixing = el.muscle_power_mixing(self.channels, spatial_sigma_mm)
        # Rest is shared like activity, so the derived bipolar channels rest at rest_rms_uv.
        share = [el.MONOPOLAR_POWER_SHARE if el.is_fridlund_electrode(c) else 1.0
                 for c in self.channels]  # fmt: skip
        self._rest_power = rest_rms_uv**2 * np.array(share) * ~self._trig
        self._activity_power: dict[str, np.ndarray] = {}
        self._tap = TapShape(tap_rise_s)
        self._pos = el.positions(self.channels)
        self._init_filter()

        self._k = 0  # next sample index for next_block()
        self._outlet: pylsl.StreamOutlet | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _init_hum(self, rng: np.random.Generator) -> None:
        """Random per-channel hum gain (0.5-1.5) and phase, as in/quadrature weights.

        a*sin(wt + phi) = sin(wt)*a*cos(phi) + cos(wt)*a*sin(phi): two outer products per
        block instead of a sine per sample and channel.
        """
        n = len(self.channels)
        gain = self.line_amp_uv * rng.uniform(0.5, 1.5, n) * ~self._trig
        phase = rng.uniform(0, 2 * np.pi, n)
        self._hum_sin, self._hum_cos = gain * np.cos(phase), gain * np.sin(phase)

    def _init_filter(self) -> None:
        """Band-pass for the noise, normalised to unit output variance for white input."""
        high = min(450.0, 0.45 * self.srate)  # stay below Nyquist at low rates
        self._sos = signal.butter(4, [20.0, high], btype="bandpass", fs=self.srate, output="sos")
        impulse = np.zeros(int(self.srate))
        impulse[0] = 1.0
        self._noise_gain = 1.0 / np.sqrt((signal.sosfilt(self._sos, impulse) ** 2).sum())
        self._zi = np.zeros((self._sos.shape[0], len(self.channels), 2))
        self._band_noise(int(0.25 * self.srate))  # settle the filter state: no start-up ramp

    # -- pure generation ----------------------------------------------------------------
    def _band_noise(self, n: int) -> np.ndarray:
        """``(n, channels)`` unit-variance 20-450 Hz noise, continuous across calls."""
        # Drawn sample-major (so block sizes don't change the sequence), filtered
        # channel-major (contiguous along time: what sosfilt wants).
        white = self._rng.standard_normal((n, len(self.channels))).T.copy()
        out, self._zi = signal.sosfilt(self._sos, white, axis=-1, zi=self._zi)
        return out.T * self._noise_gain

    def _activity(self, movement: str) -> np.ndarray:
        """Per-channel activity power of ``movement`` (cached; unknown ids act as rest)."""
        if movement not in self._activity_power:
            try:
                act = el.muscle_activity(movement)
            except KeyError:
                log.warning("EMG simulator: unknown movement %r, simulated as rest", movement)
                act = {}
            site_power = np.array([act.get(s, 0.0) ** 2 for s in el.MUSCLE_SITES])
            self._activity_power[movement] = self._mixing @ site_power
        return self._activity_power[movement]

    def _amplitude(self, t: np.ndarray) -> np.ndarray:
        """``(n, channels)`` noise RMS: rest plus envelope-scaled activity, powers added."""
        n = len(t)
        grid = np.unique(np.r_[np.arange(0, n, _ENVELOPE_STEP), n - 1])
        power = np.empty((len(grid), len(self.channels)))
        for row, i in enumerate(grid):
            movement, env = self.scenario.movement_at(float(t[i]))
            power[row] = self._rest_power + env**2 * self._activity(movement)
        amp = np.sqrt(power)
        if len(grid) == 1 or np.all(amp == amp[0]):
            return np.broadcast_to(amp[0], (n, amp.shape[1]))
        j = np.minimum(np.searchsorted(grid, np.arange(n), side="right") - 1, len(grid) - 2)
        w = ((np.arange(n) - grid[j]) / (grid[j + 1] - grid[j]))[:, None]
        return amp[j] * (1 - w) + amp[j + 1] * w

    def _add_taps(self, x: np.ndarray, t: np.ndarray) -> None:
        for tap in self.scenario.taps_between(t[0] - self._tap.duration_s, t[-1] + 1e-9):
            d2 = ((self._pos - (tap.x_mm, tap.y_mm)) ** 2).sum(axis=1)
            gain = np.nan_to_num(np.exp(-d2 / (2 * self.tap_sigma_mm**2)))
            gain *= self.tap_amp_uv * tap.strength * ~self._trig
            near = (t >= tap.time) & (t < tap.time + self._tap.duration_s)
            x[near] += self._tap(t[near] - tap.time)[:, None] * gain

    def _trigger_level(self, t: np.ndarray) -> np.ndarray:
        high = np.zeros(len(t), dtype=bool)
        for trig in self.scenario.triggers_between(t[0], t[-1] + 1e-9):
            high |= (t >= trig.time) & (t < trig.time + trig.duration)
        return high

    def generate(self, t_true: np.ndarray) -> np.ndarray:
        """Samples ``(n, channels)`` float32 µV at the given true times, without LSL.

        Stateful (filter continuity): call with consecutive, increasing times.
        """
        t = np.asarray(t_true, dtype=float)
        if t.size == 0:
            return np.zeros((0, len(self.channels)), dtype=np.float32)
        x = self._band_noise(len(t)) * self._amplitude(t)
        w = 2 * np.pi * self.line_freq_hz * t
        x += np.sin(w)[:, None] * self._hum_sin + np.cos(w)[:, None] * self._hum_cos
        self._add_taps(x, t)
        x[:, self._trig] = self._trigger_level(t)[:, None]
        return x.astype(np.float32)

    def device_timestamps(self, t_true: np.ndarray) -> np.ndarray:
        """The simulated device's stamps for samples taken at ``t_true`` (see module doc)."""
        if self.t_start is None:
            raise RuntimeError("t_start is not set: pass it, call start() or next_block()")
        t = np.asarray(t_true, dtype=float)
        stamps = t + self.offset_s + self.drift_ppm * 1e-6 * (t - self.t_start)
        if self.jitter_s > 0:
            stamps += self._jitter_rng.normal(0.0, self.jitter_s, t.shape)
        return stamps

    def next_block(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The next ``n`` samples of the stream: ``(data, true times, device stamps)``.

        What the streaming thread pushes; benchmarks call it directly to get the same data
        faster than real time. ``t_start`` defaults to ``local_clock()`` at the first call.
        """
        if self.t_start is None:
            self.t_start = pylsl.local_clock()
        t = self.t_start + (self._k + np.arange(n)) / self.srate
        self._k += n
        return self.generate(t), t, self.device_timestamps(t)

    # -- LSL --------------------------------------------------------------------------
    def ground_truth(self) -> dict[str, float | int | None]:
        """The clock distortion applied (``t_start`` None until started)."""
        return {
            "offset_s": self.offset_s, "drift_ppm": self.drift_ppm, "jitter_s": self.jitter_s,
            "t_start": self.t_start, "seed": self.seed, "srate": self.srate,
        }  # fmt: skip

    def stream_info(self) -> pylsl.StreamInfo:
        """The stream's description: channels, acquisition and simulation truth."""
        info = pylsl.StreamInfo(
            self.name, STREAM_TYPE, len(self.channels), self.srate, pylsl.cf_float32,
            self.source_id,
        )  # fmt: skip
        add_channels(info, self.channels)
        desc = info.desc()
        acq = desc.append_child("acquisition")
        for k, v in {
            "manufacturer": "mimicsync simulator", "model": "EmgSimulator",
            "serial_number": self.serial_number, "precision": 32, "compensated_lag": 0,
            "reference": "simulated (none)", "filtering": "20-450 Hz band-limited noise",
        }.items():  # fmt: skip
            acq.append_child_value(k, str(v))
        sim = desc.append_child("simulation")
        truth = self.ground_truth() | {
            "clock_model": CLOCK_MODEL,
            "true_clock": "host pylsl.local_clock(); sample k at t_start + k/srate",
            "rest_rms_uv": self.rest_rms_uv, "line_freq_hz": self.line_freq_hz,
            "line_amp_uv": self.line_amp_uv, "tap_amp_uv": self.tap_amp_uv,
        }  # fmt: skip
        for k, v in truth.items():
            sim.append_child_value(k, repr(v) if isinstance(v, float) else str(v))
        return info

    def start(self) -> EmgSimulator:
        """Open the outlet and stream in real time from now (or the given ``t_start``).

        The sample clock never pauses: after stop() and start() the missed samples are
        sent at once, so ``t_k = t_start + k/srate`` stays true for the whole stream.
        """
        if self._thread is not None:
            return self
        if self.t_start is None:
            self.t_start = pylsl.local_clock()
        self._outlet = pylsl.StreamOutlet(self.stream_info())
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"emg-sim {self.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        """Push each chunk once its last sample has (truly) happened: exact long-run rate."""
        try:
            while True:
                due = self.t_start + (self._k + self.chunk - 1) / self.srate
                if self._stop.wait(max(0.0, due - pylsl.local_clock())):
                    return
                data, _, stamps = self.next_block(self.chunk)
                self._outlet.push_chunk(data, timestamp=stamps.tolist())
        except Exception:  # a dead thread would silently stop the stream: say why
            log.exception("EMG simulator %s stopped", self.name)

    def stop(self) -> None:
        """Stop streaming and close the outlet. Safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._outlet = None

    @property
    def samples_sent(self) -> int:
        return self._k

    def __enter__(self) -> EmgSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
