"""Lossless depth storage: a row-difference pre-filter in front of Blosc-Zstd.

Depth from a stereo camera is noisy (millimetres on a face, a centimetre on the wall
behind), so general-purpose compressors find little to remove: Blosc-LZ4 gives about 2.3×
on realistic D4xx depth. Neighbouring rows are close, though: storing each pixel's
difference to the pixel above, zigzag-folded so small negative steps become small
unsigned numbers, leaves values that bit-shuffled Zstd packs ~35 % smaller still
(``bench/storage.py`` has the figures against the other candidates). The filter is exact
arithmetic modulo 2¹⁶, so any uint16 frame (holes, jumps, 65535) comes back bit for bit, and
it works inside one frame, so every frame stays one chunk that decodes on its own.

A D4xx measures disparity in steps of 1/32 pixel and converts it to depth units, so beyond
about 0.8 m (D435 at 848×480) its depth takes only some of the millimetre values: about
4 mm apart at 1.6 m, 13 mm at 3 m (librealsense's disparity transform uses the same 5
fractional bits). Coding each pixel's *rank* among the frame's distinct values instead of
the value itself makes neighbouring wall pixels differ by a rank or two, not by 4–13 mm:
another third off on realistic depth. The sorted distinct values (a few hundred) are
stored with the frame, so any uint16 frame still comes back bit for bit (at most 65,536
distinct values: every rank fits uint16).

Stored as ``/video/depth`` (n, h, w) uint16, attribute ``depth_filter``:

- absent or ``"none"`` (files before this filter): the chunk holds the depth itself;
- ``"vdelta-zigzag"``: row 0 as is, row ``r`` holds ``zigzag(d[r] − d[r−1])`` with
  ``zigzag(v) = (v << 1) ^ (v >> 15)`` on int16 (modulo 2¹⁶);
- ``"rank-vdelta-zigzag"``: the same filter on the ranks; record i of the ragged group
  ``/video/depth_values`` holds frame i's sorted distinct values (uint16 little-endian),
  and ``depth = values[ranks]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import hdf5plugin
import numpy as np
from numcodecs import Blosc

NONE = "none"
VDELTA = "vdelta-zigzag"
RANK_VDELTA = "rank-vdelta-zigzag"
FILTERS = (NONE, VDELTA, RANK_VDELTA)
DEFAULT = RANK_VDELTA
VALUES = "depth_values"  # the /video ragged group of each frame's distinct values
# Blosc compressor and level per filter, always bit-shuffled. Raw depth keeps format 1's
# LZ4; filtered depth is mostly small numbers, which bitshuffle turns into long zero runs
# that Zstd at level 1 encodes fast.
_BLOSC = {NONE: ("lz4", 5), VDELTA: ("zstd", 1), RANK_VDELTA: ("zstd", 1)}


@dataclass(frozen=True)
class EncodedDepth:
    """One depth frame ready for the file, made off the writer thread (the recorder's
    encoder): its compressed HDF5 chunk, and for a ranking filter its distinct values."""

    filter_name: str
    shape: tuple[int, int]
    chunk: bytes
    values: bytes = b""


def within_range(depth: np.ndarray, max_m: float, scale_m: float) -> np.ndarray:
    """``depth`` with everything farther than ``max_m`` set to 0 ("no depth"), as the
    recorder stores it under a depth range (``DepthMode.max_m``; 0 = the full range)."""
    if max_m <= 0 or scale_m <= 0:
        return depth
    return np.where(depth > round(max_m / scale_m), np.uint16(0), depth)


def hdf5_filter(filter_name: str) -> dict:
    """The HDF5 compression arguments that go with a pre-filter (``create_dataset(**...)``)."""
    _check(filter_name)
    cname, level = _BLOSC[filter_name]
    return dict(hdf5plugin.Blosc(cname=cname, clevel=level, shuffle=hdf5plugin.Blosc.BITSHUFFLE))


def encode_frame(frame: np.ndarray, filter_name: str = DEFAULT) -> EncodedDepth:
    """One (h, w) frame filtered and compressed with :func:`hdf5_filter`'s Blosc settings
    (the chunk format its HDF5 filter reads), so the writer only copies the bytes
    (``write_direct_chunk``)."""
    frame = np.asarray(frame)
    if frame.ndim != 2 or 0 in frame.shape:
        raise ValueError(f"depth: a frame must be (height, width) with pixels, got shape "
                         f"{frame.shape}")
    stored, values = encode(frame, filter_name)
    cname, level = _BLOSC[filter_name]
    blosc = Blosc(cname=cname, clevel=level, shuffle=Blosc.BITSHUFFLE)
    return EncodedDepth(filter_name, (int(frame.shape[0]), int(frame.shape[1])),
                        bytes(blosc.encode(np.ascontiguousarray(stored))),
                        values[0] if values else b"")


def encode(depth: np.ndarray, filter_name: str = DEFAULT) -> tuple[np.ndarray, list[bytes]]:
    """Frames as stored under ``filter_name``.

    Parameters
    ----------
    depth : ndarray
        (..., h, w) uint16 depth frames.
    filter_name : str
        ``"rank-vdelta-zigzag"``, ``"vdelta-zigzag"`` or ``"none"``.

    Returns
    -------
    stored : ndarray
        Same shape, uint16: what the HDF5 chunks hold before compression.
    values : list of bytes
        Per frame, its sorted distinct values (``/video/depth_values`` records); empty
        unless the filter ranks.
    """
    depth = np.asarray(depth, dtype=np.uint16)
    _check(filter_name)
    if filter_name == NONE:
        return depth, []
    values: list[bytes] = []
    if filter_name == RANK_VDELTA:
        frames = depth.reshape(-1, *depth.shape[-2:])
        ranked = [rank(f) for f in frames]
        values = [v.astype("<u2").tobytes() for _, v in ranked]
        depth = np.stack([r for r, _ in ranked]).reshape(depth.shape)
    return _vdelta(depth), values


def rank(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ranks, sorted distinct values) of one uint16 frame; ``values[ranks] == frame``.

    A histogram over all 65,536 values instead of ``np.unique``'s sort: ~2 ms per 848×480
    frame instead of ~20, so the writer keeps up at 30 fps.
    """
    flat = frame.ravel()
    values = np.flatnonzero(np.bincount(flat, minlength=1 << 16)).astype(np.uint16)
    lookup = np.zeros(1 << 16, np.uint16)
    lookup[values] = np.arange(values.size, dtype=np.uint16)  # size <= 65536: fits
    return lookup[frame], values


def _vdelta(depth: np.ndarray) -> np.ndarray:
    """Row difference, zigzag-folded, modulo 2¹⁶."""
    out = np.empty_like(depth)
    out[..., :1, :] = depth[..., :1, :]
    step = (depth[..., 1:, :] - depth[..., :-1, :]).view(np.int16)  # wraps modulo 2^16
    out[..., 1:, :] = ((step << 1) ^ (step >> 15)).view(np.uint16)
    return out


def decode(stored: np.ndarray, filter_name: str = DEFAULT,
           values: bytes | None = None) -> np.ndarray:
    """The depth frames back from what :func:`encode` stored (bit-exact).

    Parameters
    ----------
    stored : ndarray
        (..., h, w) uint16 as read from ``/video/depth``.
    filter_name : str
        The dataset's ``depth_filter`` attribute (``"none"`` when absent).
    values : bytes, optional
        For a ranking filter, the frame's ``/video/depth_values`` record (one frame only).

    Returns
    -------
    ndarray
        (..., h, w) uint16 depth in depth units.

    Raises
    ------
    ValueError
        For a filter this version does not know.
    """
    stored = np.asarray(stored, dtype=np.uint16)
    _check(filter_name)
    if filter_name == NONE:
        return stored
    if filter_name == RANK_VDELTA:
        if values is None or stored.ndim != 2:
            raise ValueError("depth_values: a ranked depth frame decodes one frame at a time, "
                             "with its values record")
        table = np.frombuffer(values, dtype="<u2")
        ranks = _un_vdelta(stored)
        if table.size == 0 or int(ranks.max(initial=0)) >= table.size:
            raise ValueError(f"depth_values: {table.size} values stored for a frame that "
                             f"ranks up to {int(ranks.max(initial=0))}; the file is damaged")
        return table[ranks]
    return _un_vdelta(stored)


def _un_vdelta(stored: np.ndarray) -> np.ndarray:
    steps = (stored >> 1) ^ (np.uint16(0) - (stored & np.uint16(1)))
    steps[..., 0, :] = stored[..., 0, :]
    # summed along each column as a contiguous run (a strided cumsum down axis -2 is slower)
    cols = np.cumsum(np.swapaxes(steps, -1, -2), axis=-1, dtype=np.uint16)
    return np.ascontiguousarray(np.swapaxes(cols, -1, -2))


def _check(filter_name: str) -> None:
    if filter_name not in FILTERS:
        raise ValueError(f"depth_filter: '{filter_name}' is not one of {', '.join(FILTERS)}; "
                         "this file needs a newer mimicsync")
