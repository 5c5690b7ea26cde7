"""A synthetic frontal face in numpy, driven by a :class:`~mimicsync.acquisition.simulators.scenario.Scenario`.

The camera simulator needs pictures in which the things sync and analysis look for are
really there: the movement of the protocol (brows, eyes, mouth, cheeks), a gloved hand
whose tap gives a sharp motion-energy onset at the moment of contact, and the trigger
LED. It is deliberately cartoon-like: what matters is *where* and *when* pixels change.

Speed is what shapes the code. Everything static (background, head, skin shading,
sensor noise) is rendered once into a few noisy base images; a frame is one copy of a
base plus the features, each drawn only inside its own small bounding box. That keeps a
1280x720 colour + depth frame at a few milliseconds.

Coordinates are the face millimetres of the domain facts: x = 0 on the midline with the
participant's left at positive x (the right of the image, as a camera facing them sees
it), y = 0 on the Frankfort plane, up positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Callable, Iterable

import numpy as np

from mimicsync.acquisition.simulators.scenario import Scenario, Tap

RGB = tuple[float, float, float]
Bounds = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # x_mm -> (y_top, y_bottom)

SKIN: RGB = (222, 170, 138)
SKIN_SHADE: RGB = (188, 132, 104)
SKIN_EDGE: RGB = (190, 146, 118)  # the shaded skin near the face outline
LIP: RGB = (176, 84, 84)
CAVITY: RGB = (60, 18, 22)
TEETH: RGB = (236, 232, 220)
EYE_WHITE: RGB = (238, 234, 228)
IRIS: RGB = (84, 62, 40)
PUPIL: RGB = (12, 10, 10)
LASH: RGB = (46, 30, 24)
BROW: RGB = (70, 48, 34)
HAIR: RGB = (58, 40, 30)
WRINKLE: RGB = (150, 100, 80)
GLOVE: RGB = (60, 110, 215)  # blue nitrile: the lab's tapping hand stands out on skin
GLOVE_EDGE: RGB = (28, 52, 120)
SHIRT: RGB = (58, 66, 84)

FACE_CENTER_Y = -12.0  # mm; the face ellipse spans roughly y = +92 (hairline) .. -116 (chin)
FACE_A, FACE_B = 76.0, 104.0  # face ellipse half-width / half-height, mm
MOUTH_Y = -52.0
EYE_X, EYE_Y = 32.0, 18.0

# Tap choreography (seconds relative to contact): the hand sweeps in from outside the
# image, decelerating, hovers still just off the skin, strikes within one frame interval,
# rests on the skin, then withdraws. The hover keeps the frames before contact quiet, so
# the motion-energy onset is the contact frame itself at any frame rate.
TAP_APPROACH_S = 0.8
TAP_HOVER_S = 0.12
TAP_HOLD_S = 0.2
TAP_RETRACT_S = 1.1
TAP_HOVER_MM = 45.0


@dataclass(frozen=True)
class FacePose:
    """Feature parameters of one frame; the defaults are the face at rest."""

    brow_raise: float = 0.0  # mm, up positive
    brow_inner: float = 0.0  # mm at the medial end: + raised (sadness, fear), - frown
    forehead_lines: float = 0.0  # 0..1
    frown_lines: float = 0.0  # 0..1, vertical lines between the brows
    eye_open: float = 1.0  # 0 closed, 1 rest, > 1 wide
    eye_squeeze: float = 0.0  # 0..1, tightened lids and crow's feet
    nose_wrinkle: float = 0.0  # 0..1
    mouth_width: float = 1.0  # factor of the rest width
    mouth_open: float = 0.0  # mm between the lips
    corner_lift: float = 0.0  # mm, + smile, - corners down
    upper_lip_raise: float = 0.0  # mm
    lower_lip_down: float = 0.0  # mm
    pucker: float = 0.0  # 0..1
    teeth: float = 0.0  # 0..1 visibility
    cheek_puff: float = 0.0  # 0..1
    cheek_raise: float = 0.0  # 0..1


# Change from rest at full envelope, per movement id of the protocols (domain facts).
EXPRESSIONS: dict[str, dict[str, float]] = {
    "rest": {},
    "forehead": dict(brow_raise=9, forehead_lines=1, eye_open=0.15),
    "eyes-gentle": dict(eye_open=-1.0),
    "eyes-tight": dict(eye_open=-1.0, eye_squeeze=1, brow_raise=-4, frown_lines=0.5,
                       cheek_raise=0.6, nose_wrinkle=0.3),
    "nose": dict(nose_wrinkle=1, upper_lip_raise=2, brow_raise=-3, brow_inner=-2,
                 eye_open=-0.3, frown_lines=0.4),
    "smile-closed": dict(mouth_width=0.25, corner_lift=7, cheek_raise=0.6, eye_open=-0.1),
    "smile-open": dict(mouth_width=0.3, corner_lift=7, mouth_open=12, teeth=1,
                       cheek_raise=0.8, eye_open=-0.15),
    "lip-pucker": dict(pucker=1, mouth_width=-0.45),
    "cheeks": dict(cheek_puff=1, mouth_width=-0.15),
    "snarl": dict(upper_lip_raise=7, teeth=1, nose_wrinkle=0.6, mouth_width=0.08,
                  brow_raise=-2, brow_inner=-2, frown_lines=0.3),
    "depress-lip": dict(corner_lift=-6, lower_lip_down=4, teeth=0.5, mouth_width=0.05),
    "smile-natural": dict(mouth_width=0.2, corner_lift=6, mouth_open=3, teeth=0.6,
                          cheek_raise=0.6, eye_open=-0.15),
    "anger": dict(brow_raise=-4, brow_inner=-4, frown_lines=1, eye_open=-0.25,
                  eye_squeeze=0.3, mouth_width=-0.1, corner_lift=-2),
    "disgust": dict(nose_wrinkle=1, upper_lip_raise=5, teeth=0.6, brow_raise=-3,
                    brow_inner=-2, frown_lines=0.7, eye_open=-0.3, corner_lift=-2),
    "fear": dict(brow_raise=6, brow_inner=4, forehead_lines=0.6, eye_open=0.35,
                 mouth_open=6, mouth_width=0.12, teeth=0.4, corner_lift=-1),
    "happiness": dict(mouth_width=0.3, corner_lift=8, mouth_open=7, teeth=1, cheek_raise=1,
                      eye_open=-0.25, eye_squeeze=0.3),
    "sadness": dict(brow_inner=5, brow_raise=-1, corner_lift=-5, lower_lip_down=1,
                    eye_open=-0.2, forehead_lines=0.3),
    "surprise": dict(brow_raise=10, forehead_lines=1, eye_open=0.4, mouth_open=18,
                     mouth_width=-0.15, teeth=0.3),
}
_POSE_FIELDS = tuple(f.name for f in fields(FacePose))
assert all(k in _POSE_FIELDS for d in EXPRESSIONS.values() for k in d)


def pose_for(movement: str, envelope: float) -> FacePose:
    """The pose of ``movement`` at ``envelope`` (0 = rest, 1 = full; unknown ids are rest)."""
    deltas = EXPRESSIONS.get(movement, {})
    rest = FacePose()
    return replace(rest, **{k: getattr(rest, k) + envelope * v for k, v in deltas.items()})


@dataclass(frozen=True)
class HandState:
    """The tapping hand in one frame: fingertip ``distance`` mm from the contact point."""

    x_mm: float  # contact point
    y_mm: float
    distance: float  # 0 = touching; the fingertip is at contact + distance * path
    path: tuple[float, float]  # unit vector: the way the fingertip comes in (reversed)
    direction: tuple[float, float]  # unit vector from the fingertip towards the wrist
    pressed: float  # 0..1, skin indentation shown while touching
    strength: float


def hand_state(tap: Tap, t: float, reach_mm: float) -> HandState | None:
    """Where the hand of ``tap`` is at true time ``t`` (None when it is out of the picture).

    The hand comes in from the side, with the index finger pointing up at the cheek
    (down at the forehead), so the strike sweeps across the finger rather than along it
    and changes many pixels at once. ``reach_mm`` is how far the fingertip starts from
    the contact point: far enough that the whole hand is outside the image, so it sweeps
    in rather than popping up.
    """
    tau = t - tap.time
    if tau < -TAP_APPROACH_S or tau > TAP_HOLD_S + TAP_RETRACT_S:
        return None
    side = 1.0 if tap.x_mm >= 0 else -1.0
    vertical = -1.0 if tap.y_mm < 20 else 1.0
    path = _unit(side, 0.25 * vertical)
    direction = _unit(0.45 * side, vertical)
    pressed = 0.0
    if tau < -TAP_HOVER_S:  # sweep in, decelerating (cubic ease-out)
        s = (tau + TAP_APPROACH_S) / (TAP_APPROACH_S - TAP_HOVER_S)
        distance = TAP_HOVER_MM + (reach_mm - TAP_HOVER_MM) * (1.0 - s) ** 3
    elif tau < 0.0:  # hover, still
        distance = TAP_HOVER_MM
    elif tau < TAP_HOLD_S:  # touching
        distance, pressed = 0.0, 1.0
    else:  # withdraw, slowly at first; the dent fades within 0.1 s
        s = (tau - TAP_HOLD_S) / TAP_RETRACT_S
        distance = reach_mm * s ** 3
        pressed = max(0.0, 1.0 - (tau - TAP_HOLD_S) / 0.1)
    return HandState(tap.x_mm, tap.y_mm, distance, path, direction, pressed, tap.strength)


def _unit(x: float, y: float) -> tuple[float, float]:
    n = math.hypot(x, y)
    return x / n, y / n


@dataclass(frozen=True)
class FaceGeometry:
    """Face millimetres to image pixels: a pinhole camera looking at a face ``distance_mm`` away."""

    width: int
    height: int
    scale: float  # px per mm
    ox: float  # pixel of the mm origin
    oy: float

    @classmethod
    def for_camera(cls, width: int, height: int, fx: float, distance_mm: float) -> FaceGeometry:
        scale = fx / distance_mm
        return cls(width, height, scale, width / 2.0, height / 2.0 + FACE_CENTER_Y * scale)

    def px(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        return self.ox + x_mm * self.scale, self.oy - y_mm * self.scale

    def box(self, x0: float, x1: float, y0: float, y1: float) -> tuple[slice, slice]:
        """Row and column slices of the mm rectangle [x0, x1] x [y0, y1], clipped to the image."""
        c0, r1 = self.px(min(x0, x1), min(y0, y1))
        c1, r0 = self.px(max(x0, x1), max(y0, y1))
        rows = slice(max(0, math.floor(r0)), min(self.height, math.ceil(r1) + 1))
        cols = slice(max(0, math.floor(c0)), min(self.width, math.ceil(c1) + 1))
        return rows, cols


class _Canvas:
    """Anti-aliased shapes in face mm, blended into a colour image and optionally depth."""

    def __init__(self, geom: FaceGeometry, color: np.ndarray, depth: np.ndarray | None) -> None:
        self.g = geom
        self.color = color
        self.depth = depth

    def band(self, x0: float, x1: float, bounds: Bounds, color: RGB, alpha: float = 1.0,
             depth_set: float | None = None, depth_add: float | None = None) -> None:
        """Fill between two curves y_top(x) >= y_bottom(x) for x in [x0, x1] (mm)."""
        g = self.g
        c0 = max(0, math.ceil(g.ox + x0 * g.scale))
        c1 = min(g.width, math.floor(g.ox + x1 * g.scale) + 1)
        if c1 <= c0:
            return
        x_mm = (np.arange(c0, c1, dtype=np.float32) - g.ox) / g.scale
        y_top, y_bot = bounds(x_mm)
        top = g.oy - np.asarray(y_top, np.float32) * g.scale
        bot = g.oy - np.asarray(y_bot, np.float32) * g.scale
        r0 = max(0, math.floor(float(top.min())))
        r1 = min(g.height, math.ceil(float(bot.max())) + 1)
        if r1 <= r0:
            return
        rows = np.arange(r0, r1, dtype=np.float32)[:, None]
        a = np.minimum(rows - top + 0.5, bot - rows + 0.5)
        self._blend(r0, c0, a, color, alpha, depth_set, depth_add)

    def ellipse(self, cx: float, cy: float, a: float, b: float, color: RGB, theta: float = 0.0,
                alpha: float = 1.0, depth_set: float | None = None,
                depth_add: float | None = None) -> None:
        """Fill the ellipse with half-axes ``a`` (along ``theta``, radians) and ``b`` (mm)."""
        g = self.g
        ct, st = math.cos(theta), math.sin(theta)
        ex = math.hypot(a * ct, b * st) * g.scale + 1.0
        ey = math.hypot(a * st, b * ct) * g.scale + 1.0
        pcx, pcy = g.px(cx, cy)
        c0, c1 = max(0, math.floor(pcx - ex)), min(g.width, math.ceil(pcx + ex) + 1)
        r0, r1 = max(0, math.floor(pcy - ey)), min(g.height, math.ceil(pcy + ey) + 1)
        if c1 <= c0 or r1 <= r0:
            return
        x = ((np.arange(c0, c1, dtype=np.float32) - pcx) / g.scale)[None, :]
        y = ((pcy - np.arange(r0, r1, dtype=np.float32)) / g.scale)[:, None]
        u = (x * ct + y * st) / a
        v = (y * ct - x * st) / b
        q = np.sqrt(u * u + v * v)
        self._blend(r0, c0, (1.0 - q) * (min(a, b) * g.scale) + 0.5, color, alpha,
                    depth_set, depth_add)

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float, color: RGB,
             alpha: float = 1.0) -> None:
        """A tapered stroke (a thin ellipse) from (x0, y0) to (x1, y1): wrinkles, folds."""
        half = math.hypot(x1 - x0, y1 - y0) / 2.0
        theta = math.atan2(y1 - y0, x1 - x0)
        self.ellipse((x0 + x1) / 2.0, (y0 + y1) / 2.0, half, width / 2.0, color, theta, alpha)

    def _blend(self, r0: int, c0: int, cover: np.ndarray, color: RGB, alpha: float,
               depth_set: float | None, depth_add: float | None) -> None:
        h, w = cover.shape
        a = np.clip(cover, 0.0, 1.0)
        if alpha != 1.0:
            a *= alpha
        roi = self.color[r0:r0 + h, c0:c0 + w]
        f = roi.astype(np.float32)
        f += a[..., None] * (np.asarray(color, np.float32) - f)
        f += 0.5
        roi[...] = f
        if self.depth is None or (depth_set is None and depth_add is None):
            return
        droi = self.depth[r0:r0 + h, c0:c0 + w]
        if depth_set is not None:
            droi[a > 0.5] = max(0, int(round(depth_set)))
        if depth_add is not None:
            d = droi.astype(np.float32) + a * depth_add + 0.5
            droi[...] = np.clip(d, 0, 65535)


def _arc(u: np.ndarray) -> np.ndarray:
    """1 - u^2 clipped at 0: the profile of lids and lips across their width (u in -1..1)."""
    return np.clip(1.0 - u * u, 0.0, None)


class FaceRenderer:
    """Renders the scenario's participant as seen by a frontal RGB-D camera.

    ``render(scenario, t, index)`` returns ``(color, depth)``: (H, W, 3) uint8 RGB and
    (H, W) uint16 millimetres (None without depth). ``index`` picks one of the
    precomputed sensor-noise patterns, so consecutive frames differ by noise as they do
    on a real sensor. ``face_box`` and ``led_box`` are the pixel regions sync looks at.
    """

    def __init__(self, width: int = 1280, height: int = 720, depth: bool = True,
                 fx: float | None = None, distance_mm: float = 500.0, noise: float = 1.5,
                 noise_patterns: int = 3, seed: int = 0, depth_noise: bool = True) -> None:
        """``depth_noise=False`` leaves depth clean for a camera model that adds its own
        (:mod:`~mimicsync.acquisition.simulators.depth_noise`)."""
        self.width, self.height = int(width), int(height)
        self.distance_mm = float(distance_mm)
        fx = fx if fx is not None else pinhole_fx(self.width)
        self.geom = FaceGeometry.for_camera(self.width, self.height, fx, self.distance_mm)
        self.face_box = self.geom.box(-FACE_A, FACE_A, FACE_CENTER_Y - FACE_B,
                                      FACE_CENTER_Y + FACE_B)
        self._build_led()
        color, dep = self._build_base(depth)
        self._bases, self._depths = _noisy_copies(color, dep, noise, max(1, noise_patterns),
                                                  seed, depth_noise)

    # -- per frame --------------------------------------------------------------------
    def render(self, scenario: Scenario, t: float,
               index: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
        """The frame exposed at true time ``t``."""
        movement, envelope = scenario.movement_at(t)
        window = scenario.taps_between(t - TAP_HOLD_S - TAP_RETRACT_S, t + TAP_APPROACH_S)
        hands = [hand_state(tap, t, self._reach_mm(tap)) for tap in window]
        return self.draw(pose_for(movement, envelope), [h for h in hands if h is not None],
                         scenario.trigger_high(t), index)

    def draw(self, pose: FacePose, hands: Iterable[HandState] = (), led: bool = False,
             index: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
        """Render an explicit pose (useful for tests and previews)."""
        k = index % len(self._bases)
        color = self._bases[k].copy()
        depth = self._depths[k].copy() if self._depths else None
        c = _Canvas(self.geom, color, depth)
        _draw_forehead(c, pose)
        _draw_brows(c, pose)
        _draw_eyes(c, pose)
        _draw_cheeks(c, pose)
        _draw_nose(c, pose)
        _draw_mouth(c, pose)
        for hand in hands:
            self._draw_hand(c, hand)
        color[self._led_slices] = self._led_on if led else self._led_off
        return color, depth

    def paint_hands(self, color: np.ndarray, hands: Iterable[HandState],
                    origin: tuple[int, int] = (0, 0), depth: np.ndarray | None = None) -> None:
        """Draw ``hands`` into ``color`` (and ``depth``), crops whose top-left pixel is
        ``origin`` (row, col) of the full frame: the camera physics renders only the moving
        hand at several instants of one exposure."""
        r0, c0 = origin
        g = replace(self.geom, width=color.shape[1], height=color.shape[0],
                    ox=self.geom.ox - c0, oy=self.geom.oy - r0)
        c = _Canvas(g, color, depth)
        for hand in hands:
            self._draw_hand(c, hand)

    def box_mm(self, x0: float, x1: float, y0: float, y1: float) -> tuple[slice, slice]:
        """Pixel slices of a face region given in mm (e.g. around an eye)."""
        return self.geom.box(x0, x1, y0, y1)

    @property
    def led_box(self) -> tuple[slice, slice]:
        """Pixel slices of the LED's lit core."""
        return self._led_core

    # -- the tapping hand -------------------------------------------------------------
    def _reach_mm(self, tap: Tap) -> float:
        """Fingertip distance from the contact point at which the whole hand is off-image."""
        px, _ = self.geom.px(tap.x_mm, tap.y_mm)
        to_edge = (self.width - px) if tap.x_mm >= 0 else px  # along the approach path
        return to_edge / self.geom.scale / 0.97 + 200.0

    def _draw_hand(self, c: _Canvas, h: HandState) -> None:
        ux, uy = h.direction
        tip_x = h.x_mm + h.path[0] * h.distance
        tip_y = h.y_mm + h.path[1] * h.distance
        theta = math.atan2(uy, ux)
        surface = self._surface_depth(h.x_mm, h.y_mm)
        finger_z = surface - 12.0 - 0.3 * h.distance
        if h.pressed > 0:  # the dent and shadow around the fingertip
            c.ellipse(h.x_mm - 2 * ux, h.y_mm - 2 * uy, 13.0, 10.0, WRINKLE, theta,
                      alpha=0.55 * h.pressed * min(1.0, h.strength))
        parts = (  # (offset along the hand, sideways, half-length, half-width, z offset)
            (105.0, 0.0, 48.0, 42.0, -30.0),  # palm
            (85.0, 30.0, 30.0, 9.0, -22.0),  # thumb, folded along the palm's edge
            (40.0, 0.0, 40.0, 8.5, 0.0),  # index finger, tip at the contact point
        )
        for along, side_shift, half_len, half_w, dz in parts:
            cx = tip_x + ux * along - uy * side_shift
            cy = tip_y + uy * along + ux * side_shift
            c.ellipse(cx, cy, half_len + 1.2, half_w + 1.2, GLOVE_EDGE, theta)
            c.ellipse(cx, cy, half_len, half_w, GLOVE, theta, depth_set=finger_z + dz)

    def _surface_depth(self, x_mm: float, y_mm: float) -> float:
        if not self._depths:
            return self.distance_mm
        px, py = self.geom.px(x_mm, y_mm)
        r = min(max(int(py), 0), self.height - 1)
        col = min(max(int(px), 0), self.width - 1)
        return float(self._depths[0][r, col])

    # -- static layers ----------------------------------------------------------------
    def _build_base(self, with_depth: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Background, shoulders, neck, hair, ears and the shaded face: drawn once."""
        g = self.geom
        ramp = np.linspace(0.0, 1.0, self.height, dtype=np.float32)[:, None, None]
        bg = np.array([150, 160, 172], np.float32) * (1.0 - 0.25 * ramp)
        color = np.ascontiguousarray(np.broadcast_to(bg + 0.5, (self.height, self.width, 3))
                                     .astype(np.uint8))
        depth = np.full((self.height, self.width), 1600, np.uint16) if with_depth else None
        c = _Canvas(g, color, depth)
        d0 = self.distance_mm
        c.ellipse(0, -260, 240, 110, SHIRT, depth_set=d0 + 90)
        c.band(-42, 42, lambda x: (np.full_like(x, -60.0), np.full_like(x, -190.0)),
               SKIN_SHADE, depth_set=d0 + 70)
        c.ellipse(0, 10, 88, 112, HAIR, depth_set=d0 + 60)
        for side in (1, -1):
            c.ellipse(side * 79, -2, 9, 22, SKIN_SHADE, depth_set=d0 + 45)
        self._shade_face(color, depth)
        c.ellipse(0, 97, 68, 19, HAIR, depth_set=d0 + 20)  # fringe: hairline near y = 78
        return color, depth

    def _shade_face(self, color: np.ndarray, depth: np.ndarray | None) -> None:
        """Skin with ellipsoid shading and an ellipsoid-plus-nose depth relief."""
        g = self.geom
        rows, cols = self.face_box
        y = (g.oy - np.arange(rows.start, rows.stop, dtype=np.float32))[:, None] / g.scale
        x = (np.arange(cols.start, cols.stop, dtype=np.float32) - g.ox)[None, :] / g.scale
        r2 = (x / FACE_A) ** 2 + ((y - FACE_CENTER_Y) / FACE_B) ** 2
        height = np.sqrt(np.clip(1.0 - r2, 0.0, None))  # 0 at the outline, 1 at the centre
        cover = np.clip((1.0 - np.sqrt(r2)) * FACE_A * g.scale + 0.5, 0.0, 1.0)[..., None]
        skin = np.asarray(SKIN, np.float32) * (0.80 + 0.20 * height[..., None])
        roi = color[rows, cols]
        roi[...] = roi + cover * (skin - roi) + 0.5
        if depth is None:
            return
        nose = 25.0 * np.exp(-(x / 8.0) ** 2 / 2 - ((y + 12.0) / 16.0) ** 2 / 2)
        z = self.distance_mm + 60.0 * (1.0 - height) - nose
        droi = depth[rows, cols]
        droi[...] = np.where(cover[..., 0] > 0.5, z + 0.5, droi)

    def _build_led(self) -> None:
        """Off and lit LED patches for a fixed top-left corner, pasted every frame."""
        r = max(3, round(0.018 * self.height))
        cy, cx = round(0.08 * self.height), round(0.06 * self.width)
        rows, cols = slice(cy - 3 * r, cy + 3 * r + 1), slice(cx - 3 * r, cx + 3 * r + 1)
        yy, xx = np.mgrid[-3 * r:3 * r + 1, -3 * r:3 * r + 1].astype(np.float32)
        dist = np.sqrt(yy * yy + xx * xx) / r
        housing = np.array([40, 40, 44], np.float32)
        core = np.clip(1.5 - dist, 0.0, 1.0)[..., None]
        glow = np.exp(-(dist ** 2) / 2.5)[..., None]
        off = housing + core * (np.array([90, 30, 30], np.float32) - housing)
        on = np.clip(housing + glow * np.array([215, 90, 60], np.float32)
                     + core * np.array([255, 255, 255], np.float32), 0, 255)
        self._led_off = (off + 0.5).astype(np.uint8)
        self._led_on = (on + 0.5).astype(np.uint8)
        self._led_slices = (rows, cols)
        half = max(1, r // 2)
        self._led_core = (slice(cy - half, cy + half + 1), slice(cx - half, cx + half + 1))


def pinhole_fx(width: int, hfov_deg: float = 69.4) -> float:
    """Focal length in pixels for a horizontal field of view (a D4xx colour camera's)."""
    return width / (2.0 * math.tan(math.radians(hfov_deg) / 2.0))


def _noisy_copies(color: np.ndarray, depth: np.ndarray | None, noise: float, n: int,
                  seed: int, depth_noise: bool = True) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``n`` base images with fixed sensor noise, so noise costs nothing per frame."""
    if noise <= 0:
        return [color], ([depth] if depth is not None else [])
    rng = np.random.default_rng(seed)
    colors, depths = [], []
    cf = color.astype(np.float32)
    for _ in range(n):
        grain = rng.standard_normal(color.shape, dtype=np.float32) * noise
        colors.append(np.clip(cf + grain + 0.5, 0, 255).astype(np.uint8))
        if depth is not None and not depth_noise:
            depths.append(depth)
        elif depth is not None:  # stereo depth noise grows with the square of the distance
            df = depth.astype(np.float32)
            sigma = 0.8 * (df / 500.0) ** 2
            grain = rng.standard_normal(depth.shape, dtype=np.float32) * sigma
            depths.append(np.clip(df + grain + 0.5, 0, 65535).astype(np.uint16))
    return colors, depths


# -- features -------------------------------------------------------------------------
def _draw_forehead(c: _Canvas, p: FacePose) -> None:
    if p.forehead_lines > 0.02:
        for k, y in enumerate((56.0, 63.0, 70.0)):
            c.line(-30 + 3 * k, y + p.brow_raise * 0.3, 30 - 3 * k, y + p.brow_raise * 0.3,
                   1.4, WRINKLE, alpha=0.7 * min(1.0, p.forehead_lines))
    if p.frown_lines > 0.02:
        for side in (1, -1):
            c.line(side * 5.0, 34.0, side * 6.5, 48.0, 1.3, WRINKLE,
                   alpha=0.8 * min(1.0, p.frown_lines))


def _draw_brows(c: _Canvas, p: FacePose) -> None:
    def bounds(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = np.clip((np.abs(x) - 12.0) / 38.0, 0.0, 1.0)  # 0 medial .. 1 lateral
        mid = 40.0 + p.brow_raise + 4.0 * np.sin(np.pi * (0.15 + 0.7 * s)) \
            + p.brow_inner * (1.0 - s) ** 2
        half = (5.5 - 3.0 * s) / 2.0
        return mid + half, mid - half

    for x0, x1 in ((12.0, 50.0), (-50.0, -12.0)):
        c.band(x0, x1, bounds, BROW)


def _draw_eyes(c: _Canvas, p: FacePose) -> None:
    opening = max(0.0, p.eye_open)
    half_w = 14.0

    def lids(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = _arc((np.abs(x) - EYE_X) / half_w)
        base = EYE_Y - (1.0 - min(opening, 1.0)) * 1.5 * w  # closed lids sag a little
        return base + opening * 6.5 * w ** 0.8, base - opening * 4.0 * w

    def clipped_disc(r: float) -> Bounds:
        def bounds(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            dx = np.abs(x) - EYE_X
            h = np.sqrt(np.clip(r * r - dx * dx, 0.0, None))
            up, lo = lids(x)
            return np.minimum(EYE_Y + 0.5 + h, up), np.maximum(EYE_Y + 0.5 - h, lo)
        return bounds

    def lash(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        up, _ = lids(x)
        return up + 1.0 + 1.5 * p.eye_squeeze, up - 0.4

    for side in (1, -1):
        x0, x1 = sorted((side * (EYE_X - half_w), side * (EYE_X + half_w)))
        if opening > 0.02:
            c.band(x0, x1, lids, EYE_WHITE)
            c.band(x0, x1, clipped_disc(5.5), IRIS)
            c.band(x0, x1, clipped_disc(2.4), PUPIL)
        c.band(x0, x1, lash, LASH)
        if p.eye_squeeze > 0.02:
            ex = side * (EYE_X + half_w + 2.0)
            for k in (-1, 0, 1):
                c.line(ex, EYE_Y + 2.5 * k, ex + side * 8.0, EYE_Y + 5.0 * k, 1.2, WRINKLE,
                       alpha=0.8 * min(1.0, p.eye_squeeze))
            c.line(side * (EYE_X - 10), EYE_Y - 7, side * (EYE_X + 10), EYE_Y - 7, 1.5,
                   WRINKLE, alpha=0.6 * min(1.0, p.eye_squeeze))


def _draw_cheeks(c: _Canvas, p: FacePose) -> None:
    for side in (1, -1):
        if p.cheek_puff > 0.02:
            puff = min(1.0, p.cheek_puff)
            c.ellipse(side * 64.0, -42.0, 8.0 + 10.0 * puff, 30.0, SKIN_EDGE, alpha=puff)
            c.ellipse(side * 50.0, -38.0, 22.0, 22.0, (230, 166, 142), alpha=0.35 * puff,
                      depth_add=-18.0 * puff)
        if p.cheek_raise > 0.02:
            c.ellipse(side * 42.0, -14.0, 14.0, 9.0, (236, 176, 150),
                      alpha=0.5 * min(1.0, p.cheek_raise))
        fold = max(p.cheek_raise, p.corner_lift / 8.0, p.nose_wrinkle * 0.6)
        if fold > 0.05:  # nasolabial fold, from the nose wing to past the mouth corner
            corner_x = 24.0 * p.mouth_width + 5.0
            c.line(side * 17.0, -27.0, side * corner_x, MOUTH_Y + p.corner_lift - 2.0, 1.6,
                   WRINKLE, alpha=0.7 * min(1.0, fold))


def _draw_nose(c: _Canvas, p: FacePose) -> None:
    lift = 3.0 * p.nose_wrinkle
    widen = 1.0 + 0.15 * p.nose_wrinkle
    c.ellipse(0.0, -22.0 + lift * 0.5, 9.0, 7.0, (232, 182, 150), alpha=0.6)
    for side in (1, -1):
        c.line(side * 6.0, 12.0, side * 8.0, -14.0, 2.0, SKIN_SHADE, alpha=0.35)
        c.ellipse(side * 10.0 * widen, -27.0 + lift, 6.0, 5.0, SKIN_SHADE, alpha=0.8)
        c.ellipse(side * 5.5 * widen, -30.0 + lift, 3.5, 1.8, CAVITY, side * 0.3)
        if p.nose_wrinkle > 0.02:
            for y in (4.0, 8.0, 12.0):
                c.line(side * 2.0, y, side * 9.0, y - 1.0, 1.1, WRINKLE,
                       alpha=0.8 * min(1.0, p.nose_wrinkle))


def _draw_mouth(c: _Canvas, p: FacePose) -> None:
    half_w = 24.0 * max(0.3, p.mouth_width)
    pucker = min(1.0, p.pucker)

    def u(x: np.ndarray) -> np.ndarray:
        return np.clip(x / half_w, -1.0, 1.0)

    def gap(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top and bottom of the opening between the lips (equal when closed)."""
        w = _arc(u(x))
        mid = MOUTH_Y + p.corner_lift * u(x) ** 2
        opening = p.mouth_open / 2.0 * w ** 0.7 + 1.5 * pucker * w
        return (mid + opening + p.upper_lip_raise * w,
                mid - opening - p.lower_lip_down * w)

    thick = 1.0 + 0.6 * pucker

    def upper_lip(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top, _ = gap(x)
        return top + thick * (0.8 + 4.5 * np.sqrt(_arc(u(x)))), top

    def lower_lip(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, bot = gap(x)
        return bot, bot - thick * (0.8 + 5.5 * np.sqrt(_arc(u(x))))

    def teeth(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top, bot = gap(x)
        return top, np.maximum(bot, top - 4.5 * _arc(u(x) * 1.15))

    x0, x1 = -half_w - 1.0, half_w + 1.0
    if p.mouth_open + p.upper_lip_raise + p.lower_lip_down + pucker > 0.3:
        c.band(x0, x1, gap, CAVITY, depth_add=25.0)
        if p.teeth > 0.02:
            c.band(x0, x1, teeth, TEETH, alpha=min(1.0, p.teeth))
    lip_depth = -8.0 * pucker if pucker > 0.02 else None
    c.band(x0, x1, upper_lip, LIP, depth_add=lip_depth)
    c.band(x0, x1, lower_lip, LIP, depth_add=lip_depth)

    def seam(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top, bot = gap(x)
        return top + 0.35, bot - 0.35

    c.band(x0, x1, seam, CAVITY, alpha=0.7)  # where the lips meet


def _main() -> None:
    """Print the render cost per frame: ``python -m mimicsync.acquisition.simulators.face_renderer``."""
    import time

    from mimicsync.acquisition.simulators.scenario import Movement, Trigger

    r = FaceRenderer()
    sc = Scenario([Movement(0.0, 3.0, "smile-open"), Movement(3.0, 6.0, "cheeks")],
                  [Tap(1.0), Tap(4.5, -45.0)], [Trigger(2.0, 0.5)])
    n = 180
    t0 = time.perf_counter()
    for i in range(n):
        r.render(sc, i / 30.0, i)
    dt = (time.perf_counter() - t0) / n
    print(f"{r.width}x{r.height} colour + depth: {dt * 1e3:.2f} ms per frame")


if __name__ == "__main__":
    _main()
