"""Group-wise splits: every item of a participant (or session, recording) lands in one
part only, so a model is never tested on a face it was trained on."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mimicsync.errors import MimicsyncError


def group_split(groups: Sequence | np.ndarray, fractions: Sequence[float] = (0.8, 0.2), *,
                seed: int = 0) -> list[np.ndarray]:
    """Item indices of each part, whole groups at a time (e.g. ``ds.participants``).

    Groups are shuffled with ``seed`` and each goes to the part furthest below its share
    of the items, so parts approach ``fractions`` (which are normalised) as closely as
    whole groups allow.

    Parameters
    ----------
    groups
        One group label per item (participant, session, recording …).
    fractions
        Relative sizes of the parts, e.g. ``(0.7, 0.15, 0.15)``.
    seed
        Same seed, same split.

    Returns
    -------
    list of numpy.ndarray
        Sorted int64 item indices, one array per part.

    Raises
    ------
    MimicsyncError
        Fewer groups than parts, or a fraction that is not positive.
    """
    g = np.asarray(groups, dtype=object)
    frac = np.asarray(fractions, dtype=float)
    if frac.size < 1 or np.any(frac <= 0):
        raise MimicsyncError("fractions", f"every part needs a share > 0, got {tuple(fractions)}",
                             "give positive sizes, e.g. (0.8, 0.2)")
    frac = frac / frac.sum()
    names, inverse, counts = np.unique(g.astype(str), return_inverse=True, return_counts=True)
    if len(names) < len(frac):
        raise MimicsyncError("groups", f"{len(names)} groups cannot fill {len(frac)} parts "
                             "without splitting a group", "use fewer parts or more groups")
    order = np.random.default_rng(seed).permutation(len(names))
    part_of = np.empty(len(names), np.int64)
    filled = np.zeros(len(frac))
    for k, gi in enumerate(order):
        empty = np.flatnonzero(filled == 0)
        remaining = len(order) - k
        if len(empty) >= remaining:  # every part gets at least one group
            p = int(empty[0])
        else:
            p = int(np.argmax(frac * len(g) - filled))
        part_of[gi] = p
        filled[p] += counts[gi]
    item_part = part_of[inverse]
    return [np.flatnonzero(item_part == p).astype(np.int64) for p in range(len(frac))]
