"""RVL (Wilson 2017, "Fast lossless depth image compression") in numpy, for bench/storage.py.

RVL codes zero runs (holes) and the zigzagged differences between successive valid pixels
as variable-length nibbles (3 data bits + a continuation bit). It is meant as a tiny C
loop; this vectorised version has the same output size, so its ratio is RVL's, but its
times are numpy's, not RVL's.
"""

from __future__ import annotations

import numpy as np


def _nibbles(u: np.ndarray) -> np.ndarray:
    """Variable-length nibbles of unsigned values, least significant 3 bits first."""
    u = u.astype(np.uint32)
    n = np.ones(u.size, np.int64)
    for k in range(1, 11):
        n += u >= (1 << (3 * k))
    idx = np.repeat(np.arange(u.size), n)
    j = np.arange(idx.size) - np.repeat(np.cumsum(n) - n, n)
    nib = ((u[idx] >> (3 * j).astype(np.uint32)) & 7).astype(np.uint8)
    nib[j < n[idx] - 1] |= 8
    return nib


def _values(nib: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_nibbles`."""
    ends = (nib & 8) == 0
    group = np.concatenate(([0], np.cumsum(ends)[:-1]))
    first = np.concatenate(([0], np.flatnonzero(ends)[:-1] + 1))
    j = np.arange(nib.size) - first[group]
    return np.add.reduceat((nib & 7).astype(np.uint32) << (3 * j).astype(np.uint32), first)


def encode(depth: np.ndarray) -> bytes:
    """RVL bytes of one uint16 frame (header: the pixel count)."""
    flat = depth.ravel().astype(np.int32)
    nz = flat != 0
    change = np.flatnonzero(np.diff(nz.astype(np.int8))) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds)
    if nz[0]:  # RVL starts with a (here empty) zero run
        runs = np.concatenate(([0], runs))
    if runs.size % 2:
        runs = np.concatenate((runs, [0]))
    zeros, valid = runs[0::2], runs[1::2]
    vals = flat[nz]
    delta = vals - np.concatenate(([0], vals[:-1]))
    zig = (delta << 1) ^ (delta >> 31)
    seq = np.empty(2 * zeros.size + vals.size, np.int64)
    head = 2 * np.arange(zeros.size) + np.concatenate(([0], np.cumsum(valid)[:-1]))
    seq[head], seq[head + 1] = zeros, valid
    body = np.ones(seq.size, bool)
    body[head], body[head + 1] = False, False
    seq[body] = zig
    nib = _nibbles(seq)
    if nib.size % 2:
        nib = np.concatenate((nib, np.zeros(1, np.uint8)))
    return np.uint32(flat.size).tobytes() + (nib[0::2] | (nib[1::2] << 4)).tobytes()


def decode(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The uint16 frame back from :func:`encode`."""
    size = int(np.frombuffer(data[:4], np.uint32)[0])
    b = np.frombuffer(data[4:], np.uint8)
    nib = np.empty(2 * b.size, np.uint8)
    nib[0::2], nib[1::2] = b & 15, b >> 4
    seq = _values(nib).astype(np.int64)
    out = np.zeros(size, np.int64)
    pos = k = 0
    heads, spans = [], []
    while pos < size:  # the run headers are where the sequence says: a short serial walk
        zeros, valid = int(seq[k]), int(seq[k + 1])
        heads.append(k + 2)
        spans.append((pos + zeros, valid))
        pos += zeros + valid
        k += 2 + valid
    body = np.concatenate([seq[h:h + n] for h, (_, n) in zip(heads, spans)] or [[]])
    zig = body.astype(np.int64)
    vals = np.cumsum((zig >> 1) ^ -(zig & 1))
    where = np.concatenate([np.arange(p, p + n) for p, n in spans] or [[]]).astype(np.int64)
    out[where] = vals
    return out.astype(np.uint16).reshape(shape)
