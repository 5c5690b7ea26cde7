"""Face tracks as timed derivatives: an extractor turns a frame into a face box (and,
if it has a landmark model, 2-D landmarks); a track keeps them with the frame times.

Built in (BioFace-3D's steps): the face box from OpenCV's bundled Haar cascade
(:class:`HaarFaceBoxes`), the square crop around it (:func:`crop_face`), Kalman
smoothing of any track (:func:`kalman_smooth`) and the affine map that puts both
lateral canthi and the nose tip of any 2-D landmark set onto a template
(:func:`canthi_nose_affine`).

Plugging in a landmark model: any callable ``frame (H, W, 3) uint8 RGB -> Face`` is an
extractor; return ``Face(box, landmarks)`` with landmarks ``(k, 2)`` pixels and say
which indices are the canthi and nose tip when aligning. OpenCV is optional
(``pip install 'mimicsync[faces]'``) and imported only here, on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mimicsync.errors import MimicsyncError

HAAR_FILE = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class Face:
    """One frame's face: ``box`` (x, y, w, h) pixels (NaN: none found), optional
    ``landmarks`` (k, 2) pixels."""

    box: np.ndarray
    landmarks: np.ndarray | None = None


Extractor = Callable[[np.ndarray], Face]
NO_BOX = np.full(4, np.nan)


def _cv2():
    try:
        import cv2
    except ImportError:
        raise ImportError("face crops need OpenCV: pip install 'mimicsync[faces]' "
                          "(opencv-python-headless < 5, which ships the Haar cascades)") from None
    return cv2


class HaarFaceBoxes:
    """The largest frontal face of OpenCV's bundled Haar cascade (no landmarks).

    Detection runs on a grey copy scaled to about ``work_width`` pixels (the cascade's
    cost grows with the area); boxes come back in full-resolution pixels.
    """

    def __init__(self, work_width: int = 320, min_size_frac: float = 0.15) -> None:
        cv2 = _cv2()
        self._cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / HAAR_FILE))
        if self._cascade.empty():
            raise ImportError(f"OpenCV has no {HAAR_FILE} (OpenCV 5 dropped the cascades); "
                              "install opencv-python-headless < 5")
        self.work_width, self.min_size_frac = work_width, min_size_frac

    def __call__(self, rgb: np.ndarray) -> Face:
        cv2 = _cv2()
        h, w = rgb.shape[:2]
        s = min(1.0, self.work_width / w)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if s < 1.0:
            grey = cv2.resize(grey, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        m = int(self.min_size_frac * min(grey.shape))
        found = self._cascade.detectMultiScale(grey, 1.1, 4, minSize=(m, m))
        if len(found) == 0:
            return Face(NO_BOX.copy())
        best = max(found, key=lambda b: b[2] * b[3])
        return Face(np.asarray(best, dtype=float) / s)


@dataclass(frozen=True)
class FaceTrack:
    """Per-frame face boxes (and landmarks) with the frame indices and times."""

    frames: np.ndarray  # (n,) int64 frame index in the recording
    times: np.ndarray  # (n,) common timeline
    boxes: np.ndarray  # (n, 4) x, y, w, h pixels, NaN where nothing was found
    landmarks: np.ndarray | None = None  # (n, k, 2) pixels

    def save(self, path: Path) -> None:
        extra = {} if self.landmarks is None else {"landmarks": self.landmarks}
        np.savez(path, frames=self.frames, times=self.times, boxes=self.boxes, **extra)

    @classmethod
    def load(cls, path: Path) -> FaceTrack:
        with np.load(path) as z:
            return cls(z["frames"], z["times"], z["boxes"],
                       z["landmarks"] if "landmarks" in z else None)


def track_faces(frames: Sequence[int], read: Callable[[int], np.ndarray], times: np.ndarray,
                extractor: Extractor | None = None) -> FaceTrack:
    """Run ``extractor`` (default :class:`HaarFaceBoxes`) on every listed frame."""
    extractor = extractor or HaarFaceBoxes()
    faces = [extractor(read(int(i))) for i in frames]
    marks = [f.landmarks for f in faces]
    lm = np.stack(marks) if marks and all(m is not None for m in marks) else None
    return FaceTrack(np.asarray(frames, np.int64), np.asarray(times, float),
                     np.array([f.box for f in faces], float).reshape(-1, 4), lm)


def kalman_smooth(times: np.ndarray, values: np.ndarray, *, process_std: float = 50.0,
                  measurement_std: float = 4.0) -> np.ndarray:
    """Rauch–Tung–Striebel smoothed ``values`` ((n, d), NaN = missing) under a
    constant-velocity model per column; gaps are filled.

    ``process_std``: acceleration noise (units/s²); ``measurement_std``: measurement noise
    (units). Defaults suit face boxes in pixels.
    """
    t = np.asarray(times, float)
    y = np.asarray(values, float).reshape(len(t), -1)
    out = np.empty_like(y)
    for c in range(y.shape[1]):
        out[:, c] = _rts(t, y[:, c], process_std ** 2, measurement_std ** 2)
    return out.reshape(np.shape(values))


def _rts(t: np.ndarray, z: np.ndarray, q: float, r: float) -> np.ndarray:
    n = len(t)
    ok = np.isfinite(z)
    if not ok.any():
        return z.copy()
    x = np.array([z[ok][0], 0.0])
    p = np.diag([r, 1e6])
    xs, ps, xp, pp = np.zeros((n, 2)), np.zeros((n, 2, 2)), np.zeros((n, 2)), np.zeros((n, 2, 2))
    fs = np.zeros((n, 2, 2))
    for k in range(n):
        dt = t[k] - t[k - 1] if k else 0.0
        f = np.array([[1.0, dt], [0.0, 1.0]])
        qk = q * np.array([[dt ** 4 / 4, dt ** 3 / 2], [dt ** 3 / 2, dt ** 2]])
        x, p = f @ x, f @ p @ f.T + qk
        fs[k], xp[k], pp[k] = f, x, p
        if ok[k]:
            gain = p[:, 0] / (p[0, 0] + r)
            x = x + gain * (z[k] - x[0])
            p = p - np.outer(gain, p[0])
        xs[k], ps[k] = x, p
    for k in range(n - 2, -1, -1):
        c = ps[k] @ fs[k + 1].T @ np.linalg.inv(pp[k + 1])
        xs[k] = xs[k] + c @ (xs[k + 1] - xp[k + 1])
        ps[k] = ps[k] + c @ (ps[k + 1] - pp[k + 1]) @ c.T
    return xs[:, 0]


def square_box(box: np.ndarray, scale: float = 1.2) -> np.ndarray:
    """The square ``(x, y, side, side)`` around a box's centre, ``scale`` × its larger side."""
    x, y, w, h = box
    side = max(w, h) * scale
    return np.array([x + w / 2 - side / 2, y + h / 2 - side / 2, side, side])


def crop_face(rgb: np.ndarray, box: np.ndarray | None, size: int = 256,
              scale: float = 1.2) -> np.ndarray:
    """``(size, size, 3)`` uint8 crop of the square around ``box`` (edge pixels repeated
    where it leaves the frame); the centred square of the frame when ``box`` is None/NaN."""
    cv2 = _cv2()
    h, w = rgb.shape[:2]
    if box is None or not np.all(np.isfinite(box)):
        side = min(h, w)
        sq = np.array([(w - side) / 2, (h - side) / 2, side, side], float)
    else:
        sq = square_box(np.asarray(box, float), scale)
    k = size / sq[2]
    m = np.array([[k, 0, -sq[0] * k], [0, k, -sq[1] * k]])
    return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def canthi_nose_affine(landmarks: np.ndarray, left_canthus: int, right_canthus: int,
                       nose_tip: int, template: np.ndarray) -> np.ndarray:
    """The 2×3 affine map that sends the two lateral canthi and the nose tip of
    ``landmarks`` ((k, 2), any landmark set) exactly onto ``template`` ((3, 2): left
    canthus, right canthus, nose tip) — BioFace-3D's alignment. Apply it to all
    landmarks with :func:`apply_affine`, or to the image with ``cv2.warpAffine``.

    Raises
    ------
    MimicsyncError
        The three points are (nearly) collinear: no unique map.
    """
    src = np.asarray(landmarks, float)[[left_canthus, right_canthus, nose_tip]]
    dst = np.asarray(template, float).reshape(3, 2)
    a = np.hstack([src, np.ones((3, 1))])
    if abs(np.linalg.det(a)) < 1e-9 * max(1.0, np.abs(src).max() ** 2):
        raise MimicsyncError("landmarks", "canthi and nose tip are collinear (no unique "
                             "affine map)", "check the landmark indices")
    return np.linalg.solve(a, dst).T


def apply_affine(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` ((..., 2)) mapped by the 2×3 affine ``m``."""
    p = np.asarray(points, float)
    return p @ m[:, :2].T + m[:, 2]
