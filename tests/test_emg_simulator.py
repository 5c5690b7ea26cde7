"""The sEMG simulator: electrode schemes, signal content, clock truth, and LSL streaming.

One real LSL session (module fixture, ~3.5 s, unique source_id: other LSL tests may run
on this host at the same time) checks what only the network can show; the rest uses
:meth:`EmgSimulator.generate` / ``next_block`` on synthetic true times.
"""

from __future__ import annotations

import math
import time
import uuid
from types import SimpleNamespace

import numpy as np
import pylsl
import pytest

from mimicsync.acquisition.simulators.emg import EmgSimulator
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap, Trigger
from mimicsync.dataset import electrodes as el
from mimicsync.format import channels_from_xml, desc_value

SRATE = 4096.0
OFFSET_S, DRIFT_PPM, JITTER_S = 0.25, 100.0, 1e-4
CHANNELS = el.default_channels()
INDEX = {c.label: i for i, c in enumerate(CHANNELS)}
PAIRS = {label: (a, b) for label, a, b in el.bipolar_pairs(CHANNELS)}
TRIG = INDEX["TRIG"]


def _stamp(t: float, t_start: float) -> float:
    """The documented clock model, without jitter."""
    return t + OFFSET_S + DRIFT_PPM * 1e-6 * (t - t_start)


@pytest.fixture(scope="module")
def streamed():
    """3 s of a simulator streamed over LSL, with a tap and a trigger after the inlet opened."""
    scenario = Scenario()
    sid = f"mimicsync-test-emg-{uuid.uuid4().hex}"
    sim = EmgSimulator(
        scenario, name=f"test-emg-{sid[-8:]}", source_id=sid, offset_s=OFFSET_S,
        drift_ppm=DRIFT_PPM, jitter_s=JITTER_S, seed=7,
    )  # fmt: skip
    with sim:
        found = pylsl.resolve_byprop("source_id", sid, timeout=10.0)
        assert found, "simulator stream not found on loopback"
        inlet = pylsl.StreamInlet(found[0], as_numpy=True)
        xml = inlet.info(timeout=5.0).as_xml()
        inlet.open_stream(timeout=5.0)
        inlet.pull_chunk(timeout=0.0, max_samples=1_000_000)  # drop any backlog
        now = pylsl.local_clock()
        tap, trig = Tap(now + 0.8, x_mm=45.0, y_mm=-20.0), Trigger(now + 1.6, duration=0.2)
        scenario.add_tap(tap)
        scenario.add_trigger(trig)
        data, stamps = [], []
        arrivals = []
        while pylsl.local_clock() < now + 3.0:
            d, ts = inlet.pull_chunk(timeout=0.1, max_samples=1_000_000)
            if len(ts):
                arrivals.append(pylsl.local_clock())
                data.append(d)
                stamps.append(ts)
        inlet.close_stream()
    return SimpleNamespace(
        sim=sim, xml=xml, tap=tap, trig=trig, data=np.concatenate(data),
        stamps=np.concatenate(stamps), arrivals=np.array(arrivals),
        counts=np.cumsum([len(s) for s in stamps]),
    )  # fmt: skip


# -- over LSL ---------------------------------------------------------------------------


def test_metadata_round_trip(streamed) -> None:
    xml, sim = streamed.xml, streamed.sim
    got = channels_from_xml(xml, len(CHANNELS))
    assert [repr(c) for c in got] == [repr(c) for c in CHANNELS]  # repr: NaN-safe equality
    assert len(got) == 64 and got[-1].type == "TRIG"
    assert desc_value(xml, "acquisition/manufacturer") == "mimicsync simulator"
    truth = sim.ground_truth()
    for key in ("offset_s", "drift_ppm", "jitter_s", "t_start", "srate"):
        assert float(desc_value(xml, f"simulation/{key}")) == truth[key], key
    assert int(desc_value(xml, "simulation/seed")) == 7
    assert "<type>EMG</type>" in xml and "<channel_format>float32</channel_format>" in xml
    assert "<nominal_srate>4096" in xml


def test_effective_rate_and_clock_model(streamed) -> None:
    # Samples delivered per second of wall clock: the slope of the running count against
    # arrival time, so one chunk that the scheduler delays does not decide the figure.
    rate = np.polyfit(streamed.arrivals, streamed.counts, 1)[0]
    assert rate == pytest.approx(SRATE, rel=0.02)
    # Stamps advance at srate * (1 + drift): the fitted slope recovers the drift.
    k = np.arange(len(streamed.stamps))
    slope = np.polyfit(k, streamed.stamps, 1)[0]
    assert (slope * SRATE - 1) * 1e6 == pytest.approx(DRIFT_PPM, abs=15.0)
    # Consecutive samples: no gaps, no duplicates (stamp steps ~ 1/srate, jitter aside).
    assert np.abs(np.diff(streamed.stamps) * SRATE - 1).max() < 10 * JITTER_S * SRATE


def test_tap_peak_at_stamped_time_near_not_far(streamed) -> None:
    x, ts, tap = streamed.data, streamed.stamps, streamed.tap
    expected = _stamp(tap.time, streamed.sim.t_start)
    near = x[:, INDEX["Zyg_L1"]]  # ~10 mm from the contact point
    peak = np.argmax(np.abs(near))
    assert near[peak] > 200.0
    assert 0.0 <= ts[peak] - expected < 0.006  # contact, then a few ms of rise
    window = np.abs(ts - expected) < 0.05
    assert np.abs(x[window, INDEX["Zyg_R1"]]).max() < 20.0  # other cheek: ~100 mm away
    assert np.abs(x[window, INDEX["E1"]]).max() < 20.0  # forehead


def test_trigger_over_lsl(streamed) -> None:
    high = np.flatnonzero(streamed.data[:, TRIG] == 1.0)
    assert len(high) == pytest.approx(0.2 * SRATE, abs=2)
    assert np.all(np.diff(high) == 1)
    t_start = streamed.sim.t_start
    assert streamed.stamps[high[0]] == pytest.approx(_stamp(streamed.trig.time, t_start), abs=1e-3)
    end = streamed.trig.time + streamed.trig.duration
    assert streamed.stamps[high[-1]] == pytest.approx(_stamp(end, t_start), abs=1e-3)


# -- pure generation --------------------------------------------------------------------


def _run(scenario: Scenario, seconds: float, **kw) -> tuple[np.ndarray, np.ndarray]:
    sim = EmgSimulator(scenario, t_start=1000.0, seed=kw.pop("seed", 1), **kw)
    blocks = [sim.next_block(64) for _ in range(int(seconds * SRATE / 64))]
    return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])


def _rms(v: np.ndarray) -> float:
    return float(np.sqrt(np.mean(v.astype(float) ** 2)))


def _bipolar(x: np.ndarray, label: str) -> np.ndarray:
    a, b = PAIRS[label]
    return x[:, a] - x[:, b]


@pytest.mark.parametrize(
    ("movement", "active", "quiet"),
    [("anger", "OrbOr", "Llsup"), ("sadness", "Ment", "Zyg"), ("forehead", "latFront", "OrbOr")],
)
def test_burst_raises_rms_of_the_right_muscles(movement: str, active: str, quiet: str) -> None:
    x, t = _run(Scenario([Movement(1001.0, 1004.0, movement)]), 4.5, line_amp_uv=0.0)
    rest, hold = (t > 1000.2) & (t < 1000.9), (t > 1001.3) & (t < 1003.7)
    expected = el.muscle_rms(movement)
    for side, s in (("right", "R"), ("left", "L")):
        act, off = _bipolar(x, f"{active}_{s}"), _bipolar(x, f"{quiet}_{s}")
        assert _rms(act[hold]) == pytest.approx(expected[(active, side)], rel=0.1)
        assert _rms(act[hold]) > 10 * _rms(act[rest])
        assert _rms(off[hold]) == pytest.approx(expected[(quiet, side)], rel=0.25)
        assert _rms(act[rest]) == pytest.approx(el.REST_RMS_UV, rel=0.25)


def test_kuramoto_sites_follow_nearby_muscles() -> None:
    x, t = _run(Scenario([Movement(1001.0, 1004.0, "anger")]), 4.0, line_amp_uv=0.0)
    hold = (t > 1001.3) & (t < 1003.7)
    near_mouth = _rms(x[hold, INDEX["E10"]])  # 15 mm from OrbOr_L (21.9 µV)
    forehead = _rms(x[hold, INDEX["E2"]])
    assert near_mouth > 8.0 and forehead < 3.0


def test_tap_decays_with_distance_and_is_biphasic() -> None:
    tap = Tap(1000.5, x_mm=45.0, y_mm=-20.0)
    x, t = _run(Scenario(taps=[tap]), 1.0, line_amp_uv=0.0, tap_amp_uv=400.0, tap_sigma_mm=20.0)
    pos = el.positions(CHANNELS)
    d = np.hypot(pos[:, 0] - tap.x_mm, pos[:, 1] - tap.y_mm)
    win = (t >= tap.time) & (t < tap.time + 0.05)
    emg = np.flatnonzero(~np.isnan(d))
    peaks = x[win][:, emg].max(axis=0)
    model = 400.0 * np.exp(-(d[emg] ** 2) / (2 * 20.0**2))
    assert np.abs(peaks - model).max() < 5.0  # rest noise is ~1 µV
    zyg = x[win, INDEX["Zyg_L1"]]
    assert zyg.min() < -0.15 * zyg.max()  # negative overshoot


def test_trigger_high_exactly_during_triggers() -> None:
    trigs = [Trigger(1000.30003, 0.1), Trigger(1001.2, 0.25)]
    x, t = _run(Scenario(triggers=list(trigs)), 2.0)
    expected = np.zeros(len(t), dtype=bool)
    for tr in trigs:
        expected |= (t >= tr.time) & (t < tr.time + tr.duration)
    np.testing.assert_array_equal(x[:, TRIG], expected.astype(np.float32))
    assert not np.isin(x[:, INDEX["Zyg_L1"]], (0.0, 1.0)).all()


def test_line_hum_frequency_and_amplitude() -> None:
    for f in (50.0, 60.0):
        x, t = _run(Scenario(), 2.0, line_freq_hz=f, line_amp_uv=10.0)
        v = x[:, INDEX["Mass_R1"]].astype(float)
        amp = {g: 2 * abs(np.mean(v * np.exp(-2j * np.pi * g * t))) for g in (50.0, 60.0)}
        assert 5.0 <= amp[f] <= 15.0  # per-channel gain 0.5..1.5
        assert amp[110.0 - f] < 0.5


def test_blocks_are_continuous_and_seeded() -> None:
    sc = Scenario(taps=[Tap(1000.1)], triggers=[Trigger(1000.2)])
    whole = EmgSimulator(sc, t_start=1000.0, seed=5).next_block(2048)[0]
    sim = EmgSimulator(sc, t_start=1000.0, seed=5)
    parts = np.concatenate([sim.next_block(n)[0] for n in (1, 63, 500, 1484)])
    np.testing.assert_array_equal(parts, whole)
    other = EmgSimulator(sc, t_start=1000.0, seed=6).next_block(2048)[0]
    assert not np.array_equal(other, whole)


def test_device_timestamps_follow_the_clock_model() -> None:
    sim = EmgSimulator(Scenario(), offset_s=-0.1, drift_ppm=-40.0, jitter_s=0.0, t_start=500.0)
    _, t, stamps = sim.next_block(4096 * 3)
    np.testing.assert_allclose(stamps - t, -0.1 - 40e-6 * (t - 500.0), atol=1e-12)
    jittery = EmgSimulator(Scenario(), jitter_s=2e-4, t_start=500.0, seed=2)
    _, t, stamps = jittery.next_block(4096 * 3)
    assert np.std(stamps - t) == pytest.approx(2e-4, rel=0.05)


def test_generation_cpu_budget() -> None:
    """64 ch at 4096 Hz must cost well under 20 % of a core (measured: ~2 %)."""
    sim = EmgSimulator(Scenario([Movement(1000.5, 1001.5, "smile-open")]), t_start=1000.0)
    sim.next_block(64)  # warm caches
    cpu = time.process_time()
    for _ in range(2 * 64):
        sim.next_block(64)
    assert (time.process_time() - cpu) / 2.0 < 0.10


# -- electrode schemes and tables -------------------------------------------------------


def test_default_channels_and_sizes() -> None:
    assert len(CHANNELS) == 64 and len(set(INDEX)) == 64
    assert sum(c.scheme == "fridlund" for c in CHANNELS) == 44
    assert [c.label for c in CHANNELS if c.scheme == "kuramoto"] == list(el.KURAMOTO_POSITIONS)
    assert {c.side for c in CHANNELS if c.label in ("E1", "E2", "E19")} == {
        "right", "left", "midline",
    }  # fmt: skip
    small = el.default_channels(n_channels=32)
    assert len(small) == 32 and small[-1].label == "TRIG" and small[:31] == CHANNELS[:31]
    big = el.default_channels(n_channels=80)
    assert len(big) == 80 and big[63].label == "EMG64" and big[-1].label == "TRIG"
    assert len(el.default_channels(trigger=False)) == 63
    with pytest.raises(ValueError):
        el.default_channels(schemes=("nope",))


def test_bipolar_pairs() -> None:
    pairs = el.bipolar_pairs(CHANNELS)
    assert len(pairs) == 22 and len({p[0] for p in pairs}) == 22
    for label, a, b in pairs:
        assert (CHANNELS[a].label, CHANNELS[b].label) == (f"{label}1", f"{label}2")
    shuffled = list(reversed(CHANNELS))
    for label, a, b in el.bipolar_pairs(shuffled):
        assert (shuffled[a].label, shuffled[b].label) == (f"{label}1", f"{label}2")
    # A lone electrode yields no pair; the Kuramoto scheme has none.
    assert len(el.bipolar_pairs([c for c in CHANNELS if c.label != "Zyg_R2"])) == 21
    assert el.bipolar_pairs(el.kuramoto_channels()) == []


def test_electrode_pairs_straddle_the_published_sites() -> None:
    for label, a, b in el.bipolar_pairs(CHANNELS):
        key, side, _ = el.parse_fridlund_label(CHANNELS[a].label)
        pa, pb = el.positions([CHANNELS[a], CHANNELS[b]])
        assert np.hypot(*(pa - pb)) == pytest.approx(10.0, abs=0.02)
        np.testing.assert_allclose((pa + pb) / 2, el.MUSCLE_BY_KEY[key].site(side), atol=0.01)
        assert (pa[0] > 0) == (side == "left")


def test_muscle_tables() -> None:
    assert el.FUNCTIONAL_MOVEMENTS[:11] == (
        "rest", "forehead", "eyes-gentle", "eyes-tight", "nose", "smile-closed", "smile-open",
        "lip-pucker", "cheeks", "snarl", "depress-lip",
    )  # fmt: skip
    assert "smile-natural" in el.FUNCTIONAL_MOVEMENTS
    assert set(el.EMOTIONS) == {"anger", "disgust", "fear", "happiness", "sadness", "surprise"}
    rest = el.muscle_rms("rest")
    assert len(rest) == 22 and all(0.5 <= v <= 1.0 for v in rest.values())
    anger = el.muscle_activity("anger")
    assert (anger[("OrbOr", "left")], anger[("OrbOr", "right")]) == (21.9, 39.1)
    assert (anger[("DAO", "left")], anger[("DAO", "right")]) == (9.9, 0.0)
    assert el.muscle_activity("disgust")[("Deprsup", "right")] == 8.1
    assert el.muscle_rms("anger")[("OrbOr", "right")] == pytest.approx(math.hypot(0.75, 39.1))
    assert el.muscle_activity("forehead")[("latFront", "left")] > 10.0
    with pytest.raises(KeyError, match="unknown movement"):
        el.muscle_rms("juggle")
