"""Electrode schemes and per-movement muscle activity, as data.

Coordinates are the lab's 2-D face plot (domain-facts): mm, x = 0 on the facial midline
with the lab's "li"/left sites at **positive** x, y = 0 on the Frankfort plane, up positive.

Fridlund & Cacioppo is recorded **monopolar**: each of the 22 muscle sites carries two
electrodes and the 22 bipolar channels are derived offline (:func:`bipolar_pairs`).
Electrode labels are ``<key>_<S><n>``: ``key`` a muscle key without spaces (``medFront``,
``Zyg``, ...), ``S`` = ``L`` (left, x > 0) or ``R``, ``n`` = 1 or 2. The two electrodes sit
5 mm either side of the published site along the muscle's fibre direction (1 cm apart,
the usual bipolar spacing; fibre angles in :data:`MUSCLES` are an anatomical assumption,
the lab did not publish them): electrode 1 at site - 5 mm * u, electrode 2 at site + 5 mm * u.
The bipolar channel ``<key>_<S>`` is electrode 1 minus electrode 2.

Amplitudes are RMS in µV of the *bipolar* Fridlund channels, as the lab reports them:
:data:`EMOTION_RMS` is the published table; :data:`FUNCTIONAL_RMS` is **our assumption**.
Both are activity *above* rest; :func:`muscle_rms` adds the rest level.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mimicsync.format import ChannelSpec

SIDES = ("left", "right")
_SIDE_CODE = {"left": "L", "right": "R"}
_CODE_SIDE = {v: k for k, v in _SIDE_CODE.items()}
ELECTRODE_HALF_SPACING_MM = 5.0
# Share of a site's power on each of its two monopolar electrodes: with independent
# signals on both, the derived bipolar channel then has the site's full RMS.
MONOPOLAR_POWER_SHARE = 0.5


@dataclass(frozen=True)
class Muscle:
    """One Fridlund & Cacioppo site; position and fibre angle are for the left side."""

    key: str  # label stem without spaces, e.g. "medFront"
    label: str  # the lab's label, e.g. "med Front"
    name: str  # anatomical name
    x_mm: float
    y_mm: float
    # Fibre direction (assumption), degrees from +x (lateral on the left side) towards +y;
    # the right side is mirrored. Electrode 2 lies along this direction from electrode 1.
    fibre_deg: float

    def site(self, side: str) -> tuple[float, float]:
        return (self.x_mm if side == "left" else -self.x_mm, self.y_mm)

    def electrodes(self, side: str) -> tuple[tuple[float, float], tuple[float, float]]:
        """Positions of electrodes 1 and 2 (1 cm apart, centred on the site)."""
        a = math.radians(self.fibre_deg)
        ux = math.cos(a) if side == "left" else -math.cos(a)
        uy = math.sin(a)
        x, y = self.site(side)
        h = ELECTRODE_HALF_SPACING_MM
        return (x - h * ux, y - h * uy), (x + h * ux, y + h * uy)


# Lab channel order. Fibre angles: frontalis, depressor supercilii, mentalis and masseter
# run vertically (in the frontal view); corrugator runs medial-low to lateral-high, nearly
# horizontal; orbicularis oculi/oris are rings, so their pairs lie along the lid/lip margin;
# levator labii and zygomaticus run obliquely up-laterally from the lip; DAO runs from the
# mouth corner down-laterally to the mandible (electrode 2 at the upper, medial end).
MUSCLES: tuple[Muscle, ...] = (
    Muscle("medFront", "med Front", "frontalis, medial", 10, 65, 90),
    Muscle("latFront", "lat Front", "frontalis, lateral", 32, 60, 90),
    Muscle("Corr", "Corr", "corrugator supercilii", 22, 52, 15),
    Muscle("Deprsup", "Deprsup", "depressor supercilii / procerus", 9, 49, 90),
    Muscle("OrbOc", "OrbOc", "orbicularis oculi", 42, 10, 30),
    Muscle("Llsup", "Llsup", "levator labii superioris", 28, -12, 70),
    Muscle("Zyg", "Zyg", "zygomaticus major", 53, -23, 45),
    Muscle("OrbOr", "OrbOr", "orbicularis oris", 21, -52, 0),
    Muscle("DAO", "DAO", "depressor anguli oris", 26, -69, 120),
    Muscle("Ment", "Ment", "mentalis", 6, -65, 90),
    Muscle("Mass", "Mass", "masseter", 70, -50, 90),
)
MUSCLE_BY_KEY = {m.key: m for m in MUSCLES}
# The 22 bipolar sites in channel order: muscle-major, left before right.
MUSCLE_SITES: tuple[tuple[str, str], ...] = tuple((m.key, s) for m in MUSCLES for s in SIDES)

KURAMOTO_POSITIONS: dict[str, tuple[float, float]] = {
    "E1": (-20, 66), "E2": (20, 66), "E3": (-32, 56), "E4": (32, 56),
    "E5": (-44, 13), "E6": (44, 13), "E7": (-25, -9), "E8": (25, -9),
    "E9": (-20, -67), "E10": (20, -67), "E13": (-63, 40), "E14": (63, 40),
    "E15": (-58, 6), "E16": (59, 6), "E17": (-72, -50), "E18": (72, -50),
    "E19": (0, 47), "E20": (0, -26), "E24": (0, 26),
}  # fmt: skip

TRIGGER = ChannelSpec("TRIG", unit="", type="TRIG")  # 0/1, high during a trigger pulse

# -- channel lists ----------------------------------------------------------------------


def fridlund_label(key: str, side: str, n: int | None = None) -> str:
    """``Zyg_L1`` for an electrode, ``Zyg_L`` (n=None) for the bipolar channel."""
    return f"{key}_{_SIDE_CODE[side]}{'' if n is None else n}"


_FRIDLUND_RE = re.compile(r"^(?P<key>[A-Za-z]+)_(?P<side>[LR])(?P<n>[12])$")


def parse_fridlund_label(label: str) -> tuple[str, str, int] | None:
    """``"Zyg_L1"`` -> ``("Zyg", "left", 1)``; None for anything else."""
    m = _FRIDLUND_RE.match(label)
    if m is None or m["key"] not in MUSCLE_BY_KEY:
        return None
    return m["key"], _CODE_SIDE[m["side"]], int(m["n"])


def fridlund_channels() -> list[ChannelSpec]:
    """The 44 monopolar Fridlund electrodes (two per site, see the module docstring)."""
    out = []
    for key, side in MUSCLE_SITES:
        muscle = MUSCLE_BY_KEY[key]
        for n, (x, y) in enumerate(muscle.electrodes(side), start=1):
            out.append(
                ChannelSpec(
                    fridlund_label(key, side, n), scheme="fridlund", muscle=muscle.name,
                    side=side, x_mm=round(x, 2), y_mm=round(y, 2),
                )
            )  # fmt: skip
    return out


def side_of(x_mm: float) -> str:
    """Lab convention: left at positive x."""
    return "left" if x_mm > 0 else "right" if x_mm < 0 else "midline"


def kuramoto_channels() -> list[ChannelSpec]:
    """The 19 Kuramoto sites (monopolar; muscle left empty, they are not muscle-specific)."""
    return [
        ChannelSpec(label, scheme="kuramoto", side=side_of(x), x_mm=float(x), y_mm=float(y))
        for label, (x, y) in KURAMOTO_POSITIONS.items()
    ]


_SCHEMES = {"fridlund": fridlund_channels, "kuramoto": kuramoto_channels}


def default_channels(
    schemes: Iterable[str] = ("fridlund", "kuramoto"),
    trigger: bool = True,
    n_channels: int | None = None,
) -> list[ChannelSpec]:
    """The amplifier's channel list: schemes in order, then ``TRIG`` last.

    Default 44 + 19 + 1 = 64 channels. ``n_channels`` fixes the total (trigger included):
    scheme channels are truncated from the end, or padded with generic EMG channels
    ``EMG<k>`` (k = 1-based channel number) without position, e.g. to benchmark other
    amplifier sizes.
    """
    chans: list[ChannelSpec] = []
    for s in schemes:
        if s not in _SCHEMES:
            raise ValueError(f"unknown electrode scheme {s!r}; known: {sorted(_SCHEMES)}")
        chans.extend(_SCHEMES[s]())
    if n_channels is not None:
        n_emg = n_channels - int(trigger)
        if n_emg < 0:
            raise ValueError(f"n_channels={n_channels} leaves no room for the trigger channel")
        chans = chans[:n_emg] + [ChannelSpec(f"EMG{k + 1}") for k in range(len(chans), n_emg)]
    return chans + [TRIGGER] if trigger else chans


def bipolar_pairs(channels: Sequence[ChannelSpec]) -> list[tuple[str, int, int]]:
    """Fridlund bipolar derivations ``(label, index of electrode 1, index of electrode 2)``.

    Found by label, so any channel order works; sites with a missing electrode are skipped.
    The derived signal is ``data[:, a] - data[:, b]``.
    """
    index = {c.label: i for i, c in enumerate(channels)}
    pairs = []
    for key, side in MUSCLE_SITES:
        a, b = (index.get(fridlund_label(key, side, n)) for n in (1, 2))
        if a is not None and b is not None:
            pairs.append((fridlund_label(key, side), a, b))
    return pairs


# -- the numbering the field's own tools use ---------------------------------------------
# Fridlund & Cacioppo sites F1-F22 in the lab's channel order (muscle-major as in
# domain-facts, left before right): F1 = medFront left ... F22 = Mass right; both
# monopolar electrodes of a site carry its number. Kuramoto sites K<n> = E<n> (K1-K24,
# K11, K12, K21-K23 absent, like E11 ...).
FRIDLUND_SITE_NUMBER: dict[tuple[str, str], int] = {ks: i + 1 for i, ks in enumerate(MUSCLE_SITES)}
_KURAMOTO_RE = re.compile(r"^E(?P<n>\d+)$")
_BIPOLAR_RE = re.compile(r"^(?P<key>[A-Za-z]+)_(?P<side>[LR])$")


def site_label(label: str) -> str | None:
    """The community number of a channel: ``"F13"`` for ``Zyg_L1``/``Zyg_L2``/``Zyg_L``
    (Fridlund electrode or bipolar channel), ``"K13"`` for Kuramoto ``E13``; None else."""
    parsed = parse_fridlund_label(label)
    if parsed is None and (m := _BIPOLAR_RE.match(label)) and m["key"] in MUSCLE_BY_KEY:
        parsed = (m["key"], _CODE_SIDE[m["side"]], 0)
    if parsed is not None:
        return f"F{FRIDLUND_SITE_NUMBER[parsed[:2]]}"
    m = _KURAMOTO_RE.match(label)
    if m and label in KURAMOTO_POSITIONS:
        return f"K{int(m['n'])}"
    return None


def is_fridlund_electrode(ch: ChannelSpec) -> bool:
    return ch.type == "EMG" and parse_fridlund_label(ch.label) is not None


def positions(channels: Sequence[ChannelSpec]) -> np.ndarray:
    """``(n, 2)`` electrode positions in mm (NaN where a channel has none)."""
    return np.array([(c.x_mm, c.y_mm) for c in channels], dtype=float).reshape(-1, 2)


def muscle_power_mixing(channels: Sequence[ChannelSpec], sigma_mm: float = 15.0) -> np.ndarray:
    """``(n_channels, 22)`` weights w so that a channel's activity power = w @ site_power.

    Why power: muscles are independent noise sources, so their powers add.
    - Fridlund electrodes see only their own site, at :data:`MONOPOLAR_POWER_SHARE`.
    - Other channels with a position (Kuramoto sites) see every site with amplitude
      weight exp(-d^2 / (2 sigma^2)) (d = distance to the site's centre): a Gaussian
      volume-conduction fall-off, about 0.6 at 15 mm, 0.14 at 30 mm (sigma = 15 mm).
    - Channels without position (generic, trigger) see none.
    """
    w = np.zeros((len(channels), len(MUSCLE_SITES)))
    sites = np.array([MUSCLE_BY_KEY[k].site(s) for k, s in MUSCLE_SITES])
    site_index = {ks: j for j, ks in enumerate(MUSCLE_SITES)}
    pos = positions(channels)
    for i, ch in enumerate(channels):
        if is_fridlund_electrode(ch):
            w[i, site_index[parse_fridlund_label(ch.label)[:2]]] = MONOPOLAR_POWER_SHARE
        elif ch.type == "EMG" and not np.isnan(pos[i]).any():
            d2 = ((sites - pos[i]) ** 2).sum(axis=1)
            w[i] = np.exp(-d2 / (2 * sigma_mm**2)) ** 2
    return w


# -- muscle activity per movement -------------------------------------------------------

REST_RMS_UV = 0.75  # bipolar RMS at rest (domain-facts: about 0.5-1 µV)

_EMOTION_COLUMNS = (
    "DAO", "OrbOr", "Ment", "Mass", "Zyg", "Llsup", "OrbOc", "latFront", "medFront", "Corr",
    "Deprsup",
)  # fmt: skip
# Published table (domain-facts), RMS µV, (left, right), columns as above. Verbatim.
_EMOTION_TABLE: dict[str, tuple[tuple[float, float], ...]] = {
    "anger": ((9.9, 0.0), (21.9, 39.1), (16.8, 17.3), (1.4, 2.0), (1.1, 1.6), (0.0, 0.0),
              (6.9, 9.5), (1.3, 0.7), (0.9, 0.8), (2.4, 2.3), (2.7, 2.1)),
    "surprise": ((0.9, 0.7), (0.8, 0.8), (1.2, 1.1), (0.5, 0.5), (0.5, 0.5), (0.6, 0.9),
                 (1.6, 3.0), (4.7, 1.7), (3.5, 4.0), (2.3, 2.7), (2.9, 2.5)),
    "sadness": ((1.0, 1.0), (1.2, 1.5), (28.2, 29.0), (0.6, 0.8), (0.7, 0.8), (3.5, 2.5),
                (2.2, 3.4), (3.1, 1.1), (6.0, 6.7), (7.9, 8.4), (7.2, 7.0)),
    "fear": ((8.7, 4.6), (0.0, 11.3), (11.2, 6.7), (0.9, 1.1), (0.9, 1.0), (1.8, 2.1),
             (1.6, 4.1), (0.0, 1.6), (5.7, 6.5), (3.1, 3.7), (3.0, 3.9)),
    "happiness": ((3.1, 0.0), (18.3, 15.0), (8.4, 10.2), (0.7, 0.9), (0.0, 0.0), (3.7, 3.3),
                  (6.1, 7.4), (0.7, 0.6), (0.7, 0.6), (0.5, 0.6), (0.3, 0.6)),
    "disgust": ((2.5, 1.9), (8.3, 6.0), (4.1, 3.9), (0.8, 0.7), (1.0, 0.8), (1.8, 1.8),
                (7.8, 9.0), (3.7, 1.0), (2.6, 2.4), (10.6, 10.0), (8.5, 8.1)),
}  # fmt: skip
EMOTION_RMS: dict[str, dict[tuple[str, str], float]] = {
    emo: {(k, s): lr[i] for k, lr in zip(_EMOTION_COLUMNS, row) for i, s in enumerate(SIDES)}
    for emo, row in _EMOTION_TABLE.items()
}

# ASSUMPTION, not published: activity above rest (µV RMS, both sides equal) of the
# functional movements, from which muscles do the movement (anatomy) and the magnitudes
# of the emotion table (strong voluntary contractions reach a few tens of µV). Muscles
# not listed stay at rest. Maximal movements (eyes-tight, snarl) recruit neighbours.
FUNCTIONAL_RMS_SYMMETRIC: dict[str, dict[str, float]] = {
    "rest": {},
    "forehead": {"medFront": 25, "latFront": 30, "Corr": 3, "Deprsup": 3, "OrbOc": 4},
    "eyes-gentle": {"OrbOc": 8, "Corr": 2, "Deprsup": 2, "medFront": 1},
    "eyes-tight": {"OrbOc": 40, "Corr": 15, "Deprsup": 15, "Llsup": 8, "Zyg": 6,
                   "medFront": 3, "latFront": 3, "Mass": 2},
    "nose": {"Llsup": 30, "Deprsup": 20, "Corr": 10, "OrbOc": 12, "OrbOr": 5, "Zyg": 4},
    "smile-closed": {"Zyg": 30, "OrbOc": 10, "OrbOr": 6, "Llsup": 5, "Ment": 3, "DAO": 2,
                     "Mass": 2},
    "smile-open": {"Zyg": 45, "OrbOc": 15, "Llsup": 12, "OrbOr": 10, "DAO": 6, "Ment": 6,
                   "Mass": 4},
    "lip-pucker": {"OrbOr": 50, "Ment": 20, "DAO": 8, "Llsup": 4, "Zyg": 2},
    "cheeks": {"OrbOr": 35, "Ment": 10, "DAO": 6, "Zyg": 5, "Mass": 3},
    "snarl": {"Llsup": 40, "OrbOc": 15, "OrbOr": 15, "Deprsup": 12, "Corr": 10, "Zyg": 10,
              "DAO": 8, "Ment": 8, "Mass": 6},
    "depress-lip": {"DAO": 40, "Ment": 25, "OrbOr": 12, "Mass": 3, "Zyg": 2},
    "smile-natural": {"Zyg": 20, "OrbOc": 8, "OrbOr": 4, "Llsup": 3},
}  # fmt: skip
FUNCTIONAL_RMS: dict[str, dict[tuple[str, str], float]] = {
    mv: {(k, s): float(table.get(k, 0.0)) for k, s in MUSCLE_SITES}
    for mv, table in FUNCTIONAL_RMS_SYMMETRIC.items()
}

FUNCTIONAL_MOVEMENTS = tuple(FUNCTIONAL_RMS)  # the 11 in protocol order, then smile-natural
EMOTIONS = tuple(EMOTION_RMS)
MOVEMENTS = FUNCTIONAL_MOVEMENTS + EMOTIONS
_ACTIVITY = {**FUNCTIONAL_RMS, **EMOTION_RMS}


def muscle_activity(movement: str) -> dict[tuple[str, str], float]:
    """RMS (µV) *above rest* of each ``(muscle key, side)`` during ``movement``."""
    try:
        return dict(_ACTIVITY[movement])
    except KeyError:
        raise KeyError(f"unknown movement {movement!r}; known: {', '.join(MOVEMENTS)}") from None


def muscle_rms(movement: str, rest_uv: float = REST_RMS_UV) -> dict[tuple[str, str], float]:
    """Expected bipolar RMS (µV) of each ``(muscle key, side)`` while ``movement`` is held.

    Rest and activity are independent, so their powers add: ``hypot(rest, activity)``;
    ``muscle_rms("rest")`` is ``rest_uv`` everywhere.
    """
    return {site: math.hypot(rest_uv, a) for site, a in muscle_activity(movement).items()}
