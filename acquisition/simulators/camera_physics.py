"""What a real colour sensor does to the scene: exposure, rolling shutter, light, noise.

The face renderer draws the scene at one instant. A camera does not see instants: each
row of frame ``k`` integrates light over its own exposure window
``[start_k + readout·row/H, + exposure_k]``. So a hand that moves during the exposure is
blurred (and sheared by the rolling readout), an LED that switches mid-exposure is
partly lit, 100 Hz mains flicker beats against 30 fps as brightness bands, and auto
exposure changes the exposure (and with it the mid-exposure instant) frame by frame.
Sync has to hold on such pictures, so the simulated camera renders them.

Cost shapes the code (the demo films 1280x720 at 30 fps on two cores). The face is
rendered once per frame, at the middle of the exposure (expressions ramp over 150 ms,
far slower than an exposure); only the moving hand is integrated, rendered in its own
bounding box at ``subsamples`` instants across readout + exposure and averaged per row
with each row's exposure weights; the LED's partial level is exact (analytic fraction of
each row's window during which it was lit); light (room level × flicker, integrated per
row band) and gain are one lookup table per band.

Last comes the transport. A D4xx's colour sensor sends YUY2 over USB (BT.601
limited-range luma for every pixel, one chroma pair for every two) and librealsense
unpacks that to the RGB8 the host sees, so neighbouring pixels share their chroma:
``transport="yuyv"``, what storage figures and the JPEG default are measured on. The
default ``"rgb8"`` hands over the 4:4:4 picture as drawn, on which the sync detectors'
timing constants were measured (under YUY2's luma requantisation a tap's contact can move
by a frame or two; see the note on issue 14).
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from mimicsync.acquisition.simulators.face_renderer import FaceRenderer, HandState, _unit, pose_for
from mimicsync.acquisition.simulators.scenario import Scenario, Tap
from mimicsync.errors import check_option
from mimicsync.format import COLOR_TRANSPORTS

# Tap choreography (s relative to contact): the hand sweeps in over APPROACH_S,
# decelerating to a quarter of its entry speed, stops on the skin at contact (the sEMG
# artefact), rests, then withdraws.
APPROACH_S = 0.3
HOLD_S = 0.25
RETRACT_S = 0.6
END_SPEED = 0.4  # speed at contact / mean approach speed
HAND_LENGTH_MM = 160.0  # fingertip to the far edge of the palm
BANDS = 24  # row bands with their own light level (flicker under a rolling shutter)


@dataclass(frozen=True)
class CameraPhysics:
    """Sensor settings; the defaults are like a D415/D435 colour stream in a lit room.

    ``exposure_s`` None = auto exposure, which settles at ``ae_target_s`` under the
    nominal light and follows the room light with rate ``ae_rate`` per frame. With a
    fixed exposure the gain keeps the picture as bright as at ``ae_target_s``.
    ``readout_s`` 0 is a global shutter (a D455's colour sensor).
    """

    readout_s: float = 0.025
    exposure_s: float | None = None
    ae_target_s: float = 0.0125
    ae_rate: float = 0.25
    ae_min_s: float = 0.001
    ae_max_s: float = 0.032
    flicker: float = 0.15  # modulation depth of the light at flicker_hz (0 = DC light)
    flicker_hz: float = 100.0
    room_light: float = 0.12  # slow room-light change, fraction
    room_period_s: float = 37.0
    noise: float = 2.0  # sensor noise sd, grey levels
    subsamples: int = 6  # hand renders per frame across readout + exposure
    led_gain: float = 1.0  # LED intensity relative to the simulator's lit patch
    transport: str = "rgb8"  # the wire: "rgb8" (as drawn) or "yuyv" (a D4xx's 4:2:2 link)

    @classmethod
    def ideal(cls) -> "CameraPhysics":
        """A camera that samples: global shutter, 1 ms exposure, steady light."""
        return cls(readout_s=0.0, exposure_s=0.001, flicker=0.0, room_light=0.0,
                   subsamples=1)

    def __post_init__(self) -> None:
        check_option("camera transport", self.transport, COLOR_TRANSPORTS)

    def describe(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def light(p: CameraPhysics, t0: np.ndarray, e: float, phase: float) -> np.ndarray:
    """Mean illumination (1 = nominal) over windows ``[t0, t0 + e]``."""
    t0 = np.asarray(t0, float)
    room = 1.0 + p.room_light * np.sin(2 * np.pi * (t0 + e / 2) / p.room_period_s + phase)
    if p.flicker <= 0:
        return room
    w = 2 * np.pi * p.flicker_hz
    mean_cos = (np.sin(w * (t0 + e) + phase) - np.sin(w * t0 + phase)) / (w * max(e, 1e-9))
    return room * (1.0 + p.flicker * mean_cos)


def approach_state(tap: Tap, t: float, reach_mm: float) -> HandState | None:
    """The hand of ``tap`` at true time ``t``: approach, deceleration, rest, withdrawal."""
    tau = t - tap.time
    if tau < -APPROACH_S or tau > HOLD_S + RETRACT_S:
        return None
    side = 1.0 if tap.x_mm >= 0 else -1.0
    vertical = -1.0 if tap.y_mm < 20 else 1.0
    pressed = 0.0
    if tau < 0.0:  # position fraction g(s): speed 2 − a at entry, a at contact
        s = (tau + APPROACH_S) / APPROACH_S
        a = END_SPEED
        g = a * s + (1 - a) * (1 - (1 - s) ** 2)
        distance = reach_mm * (1.0 - g)
    elif tau < HOLD_S:
        distance, pressed = 0.0, 1.0
    else:
        s = (tau - HOLD_S) / RETRACT_S
        distance = reach_mm * s * s
        pressed = max(0.0, 1.0 - (tau - HOLD_S) / 0.1)
    return HandState(tap.x_mm, tap.y_mm, distance, _unit(side, 0.25 * vertical),
                     _unit(0.45 * side, vertical), pressed, tap.strength)


class SensorModel:
    """Renders frames of a :class:`FaceRenderer` through a :class:`CameraPhysics` sensor."""

    def __init__(self, renderer: FaceRenderer, physics: CameraPhysics, fps: float,
                 seed: int = 0) -> None:
        self.r, self.p, self.fps = renderer, physics, float(fps)
        rng = np.random.default_rng([seed, 5])
        self.phase = float(rng.uniform(0, 2 * np.pi))
        self.exposure = physics.exposure_s if physics.exposure_s else physics.ae_target_s
        h = renderer.height
        self.band_rows = np.linspace(0, h, min(BANDS, h) + 1).round().astype(int)
        self.gain = physics.ae_target_s / (physics.exposure_s or physics.ae_target_s)

    # -- exposure control -------------------------------------------------------------
    def next_exposure(self, start: float) -> float:
        """Exposure of the frame starting at ``start``; auto exposure reacts to the light
        it measured in the previous frame (frames the host never sees count too)."""
        p = self.p
        e = self.exposure
        if p.exposure_s is None:
            seen = float(light(p, np.array([start - 1.0 / self.fps]), e, self.phase)[0])
            b = e * seen / p.ae_target_s
            self.exposure = float(np.clip(e * b ** -p.ae_rate, p.ae_min_s, p.ae_max_s))
            e = self.exposure
        return e

    # -- rendering --------------------------------------------------------------------
    def render(self, scenario: Scenario, start: float, e: float, index: int,
               depth: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Frame whose first row starts exposing at true time ``start`` for ``e`` s."""
        r, p = self.r, self.p
        span = p.readout_s + e
        mid = start + span / 2
        movement, env = scenario.movement_at(mid)
        color, dep = r.draw(pose_for(movement, env), (), False, index)
        if not depth:
            dep = None
        taps = scenario.taps_between(start - HOLD_S - RETRACT_S, start + span + APPROACH_S)
        for tap in taps:
            self._hand(color, dep, tap, start, e)
        self._expose(color, start, e)
        self._led(color, scenario, start, e)
        if p.transport == "yuyv":
            color = yuyv_transport(color)
        return color, dep

    def _hand(self, color: np.ndarray, dep: np.ndarray | None, tap: Tap, start: float,
              e: float) -> None:
        r, p = self.r, self.p
        reach = r._reach_mm(tap)
        m = max(1, p.subsamples)
        span = p.readout_s + e
        dt = span / m
        times = start + (np.arange(m) + 0.5) * dt
        states = [approach_state(tap, float(t), reach) for t in times]
        if all(s is None for s in states):
            return
        box = _hand_box(r, [s for s in states if s is not None])
        if box is None:
            return
        rows, cols = box
        if dep is not None:  # depth: the hand at mid-exposure
            mid_state = approach_state(tap, start + span / 2, reach)
            if mid_state is not None:
                r.paint_hands(color[rows, cols].copy(), [mid_state], (rows.start, cols.start),
                              dep[rows, cols])
        base = color[rows, cols]
        if len({s for s in states}) == 1:  # at rest: one render
            crop = base.copy()
            r.paint_hands(crop, [states[0]] if states[0] else [], (rows.start, cols.start))
            base[...] = crop
            return
        # weight of sub-instant j for row y: overlap of the row's window with slot j
        y = np.arange(rows.start, rows.stop, dtype=float)
        u0 = start + p.readout_s * y / r.height
        lo = start + np.arange(m) * dt
        w = np.clip(np.minimum(u0[:, None] + e, lo[None, :] + dt)
                    - np.maximum(u0[:, None], lo[None, :]), 0.0, None)
        w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
        acc = np.zeros(base.shape, np.float32)
        for j, s in enumerate(states):
            if not w[:, j].any():
                continue
            crop = base.copy()
            if s is not None:
                r.paint_hands(crop, [s], (rows.start, cols.start))
            acc += w[:, j, None, None].astype(np.float32) * crop
        base[...] = (acc + 0.5).astype(np.uint8)

    def _expose(self, color: np.ndarray, start: float, e: float) -> None:
        """Brightness per row band: exposure × gain × the light its rows integrated."""
        p = self.p
        rows = self.band_rows
        centre = (rows[:-1] + rows[1:]) / 2
        lvl = light(p, start + p.readout_s * centre / self.r.height, e, self.phase)
        factor = lvl * e * self.gain / p.ae_target_s
        if np.allclose(factor, 1.0, atol=2e-3):
            return
        tmp = np.empty(color[rows[0]:rows[1]].shape, np.uint16)
        for a, b, f in zip(rows[:-1], rows[1:], factor):  # fixed point, uint16
            t, x = tmp[: b - a], color[a:b]
            up = f >= 1.0  # x·f = x + x·(f − 1): keeps x·g·256 within 16 bits
            g = np.uint16(min(256, round(((f - 1.0) if up else f) * 256)))
            np.multiply(x, g, out=t, dtype=np.uint16)
            np.right_shift(t, 8, out=t)
            if up:
                np.add(t, x, out=t)
                np.minimum(t, 255, out=t)
            x[...] = t

    def _led(self, color: np.ndarray, scenario: Scenario, start: float, e: float) -> None:
        """The LED patch, each row lit for the fraction of its window the pulse was on."""
        r, p = self.r, self.p
        rows, cols = r._led_slices
        y = np.arange(rows.start, rows.stop, dtype=float)
        u0 = start + p.readout_s * y / r.height
        frac = np.zeros(y.size)
        for trig in scenario.triggers_between(float(u0[0]), float(u0[-1]) + e):
            a, b = trig.time, trig.time + trig.duration
            frac += np.clip(np.minimum(u0 + e, b) - np.maximum(u0, a), 0.0, None) / e
        off = r._led_off.astype(np.float32) * float(light(p, np.array([start]), e, self.phase)[0]) \
            * e * self.gain / p.ae_target_s
        lit = (r._led_on.astype(np.float32) - r._led_off) * p.led_gain * e * self.gain / p.ae_target_s
        patch = off + np.clip(frac, 0, 1)[:, None, None] * lit
        color[rows, cols] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)


def yuyv_transport(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` as it reaches the host through a YUY2 link: BT.601 limited range, chroma
    averaged over each horizontal pixel pair and shared by both on the way back (swscale,
    about 5 ms per 1280x720 frame; differs from librealsense's integer unpacking by about
    1 DN on average, not in structure)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame.reformat(format="yuv422p").reformat(format="rgb24").to_ndarray()


def _hand_box(r: FaceRenderer, states: list[HandState]) -> tuple[slice, slice] | None:
    """Pixel box around every position of the hand in ``states`` (clipped to the image)."""
    xs, ys = [], []
    for h in states:
        tip_x = h.x_mm + h.path[0] * h.distance
        tip_y = h.y_mm + h.path[1] * h.distance
        ux, uy = h.direction
        xs += [tip_x, tip_x + ux * HAND_LENGTH_MM]
        ys += [tip_y, tip_y + uy * HAND_LENGTH_MM]
    pad = 52.0  # palm half-width plus the outline
    rows, cols = r.geom.box(min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad)
    if rows.stop <= rows.start or cols.stop <= cols.start:
        return None
    return rows, cols

