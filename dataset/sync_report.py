"""What the operator reads after ``mimicsync sync``: a few lines of text and a PNG.

The text answers "do video and sEMG line up, and how sure are we"; the figure shows the
evidence: matched events on both modalities, each event's residual with the frame
interval it is known within, and the fitted offset-and-drift line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mimicsync.dataset.sync_recording import SyncResult
from mimicsync.sync.event_fit import KINDS

LABELS = {"trigger_on": "trigger on", "trigger_off": "trigger off", "tap": "tap"}
COLORS = {"trigger_on": "#d62728", "trigger_off": "#ff9896", "tap": "#1f77b4"}


def summary_lines(r: SyncResult) -> list[str]:
    """The short text summary (offset, drift, residuals, confidence, events)."""
    ev, fit = r.events, r.events.fit
    used = {k: sum(p.consistent and p.kind == k for p in ev.pairs) for k in KINDS}
    rej_emg = sum(1 for x in ev.rejected if x[0] == "emg")
    rej_vid = len(ev.rejected) - rej_emg
    frame_ms = 1e3 * float(np.median(np.diff(r.video_clock))) if len(r.video_clock) > 1 else 0
    lines = [
        f"sync: {r.path.name}",
        f"  timeline: recorder clock via sEMG stream '{r.reference}'",
        f"  accuracy: ±{r.uncertainty_ms:.2f} ms (95 % bound on any frame's error)",
        f"  video offset: {fit.offset_s * 1e3:+.2f} ms ± {fit.sd_offset_s * 1e3:.2f} "
        f"(video clock − sEMG)   drift: {fit.drift_ppm:+.1f} ± {fit.sd_drift_ppm:.1f} ppm",
        f"  residual RMS: {ev.rms_ms:.1f} ms (video onsets known to a frame, {frame_ms:.1f} ms; "
        f"{ev.n_used} of {len(ev.pairs)} within their frame interval)",
        f"  events used: {ev.n_used} (" + ", ".join(f"{LABELS[k]} {n}" for k, n in used.items()
                                                    if n) + f"); rejected: {len(ev.rejected)} "
        f"(sEMG {rej_emg}, video {rej_vid})",
        f"  confidence: {ev.confidence:.2f}"
        + (f"   tap bias: {fit.bias_s * 1e3:+.1f} ms" if fit.fitted_bias else ""),
        f"  frames: {len(r.frame_times)} (dropped {r.dropped_frames}); streams: "
        f"{len(r.streams)}; {r.seconds:.1f} s",
    ]
    lines += [f"  note: {w}" for w in r.warnings]
    return lines


def write_png(r: SyncResult, out: str | Path) -> Path:
    """Write the report figure to ``out`` (PNG) and return its path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev, fit = r.events, r.events.fit
    t0 = float(r.frame_times[0]) if len(r.frame_times) else 0.0
    fig = plt.figure(figsize=(12, 9), dpi=110, layout="constrained")
    gs = fig.add_gridspec(3, 2, height_ratios=[1.0, 1.2, 1.0])
    ax_ev = fig.add_subplot(gs[0, :])
    ax_res = fig.add_subplot(gs[1, 0])
    ax_off = fig.add_subplot(gs[1, 1])
    ax_led = fig.add_subplot(gs[2, 0])
    ax_tap = fig.add_subplot(gs[2, 1])
    fig.suptitle(f"{r.path.name}: accuracy ±{r.uncertainty_ms:.2f} ms (95 %), offset "
                 f"{fit.offset_s * 1e3:+.2f} ms, drift {fit.drift_ppm:+.1f} ppm, confidence "
                 f"{ev.confidence:.2f}", fontsize=11)
    _events_panel(ax_ev, r, t0)
    _residual_panel(ax_res, r, t0)
    _offset_panel(ax_off, r, t0)
    _zoom_panel(ax_led, r, "trigger_on", r.led, "LED brightness", t0)
    _frames_panel(ax_tap, r, t0)
    out = Path(out)
    fig.savefig(out)
    plt.close(fig)
    return out


def _events_panel(ax, r: SyncResult, t0: float) -> None:
    """Both modalities on the common timeline; matched pairs joined, rejected as x."""
    ev = r.events
    fit = ev.fit
    for p in ev.pairs:
        te, tv = p.emg - t0, float(fit.to_emg(p.video)) - t0
        c = COLORS[p.kind]
        ax.plot([te, tv], [1, 0], color=c, lw=0.8, alpha=0.6 if p.consistent else 0.2)
        ax.plot(te, 1, "o", color=c, ms=5)
        ax.plot(tv, 0, "s", color=c, ms=5, mfc=c if p.consistent else "none")
    for mod, kind, t, _ in ev.rejected:
        tt = (t if mod == "emg" else float(fit.to_emg(t))) - t0
        ax.plot(tt, 1 if mod == "emg" else 0, "x", color=COLORS.get(kind, "gray"), ms=6)
    for k in KINDS:
        ax.plot([], [], "o", color=COLORS[k], label=LABELS[k])
    ax.plot([], [], "x", color="gray", label="rejected")
    ax.set_yticks([0, 1], ["video", "sEMG"])
    ax.set_ylim(-0.5, 1.5)
    ax.set_xlabel("time on the common timeline (s from the first frame)")
    ax.set_title("matched events (lines join pairs)", fontsize=10)
    ax.legend(loc="upper right", ncol=4, fontsize=8, framealpha=0.8)
    ax.grid(alpha=0.3, axis="x")


def _residual_panel(ax, r: SyncResult, t0: float) -> None:
    """Each event's frame interval (bar) and centre (dot) minus the fitted time."""
    fit = r.events.fit
    for p in r.events.pairs:
        pred = float(fit.to_video(p.emg)) + (fit.bias_s if p.kind == "tap" else 0.0)
        lo, hi = (p.lo - pred) * 1e3, (p.hi - pred) * 1e3
        x = p.emg - t0
        c = COLORS[p.kind]
        if not p.subframe:
            ax.plot([x, x], [lo, hi], color=c, lw=2, alpha=0.5)
        ax.plot(x, p.residual_ms, "o", color=c, ms=3, mfc=c if p.consistent else "none")
    _binned(ax, [p.emg - t0 for p in r.events.pairs if p.consistent],
            [p.residual_ms for p in r.events.pairs if p.consistent])
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("video − fitted (ms)")
    ax.set_title("residuals: bars = frame interval that holds the event; "
                 "it must cross 0", fontsize=10)
    ax.grid(alpha=0.3)


def _offset_panel(ax, r: SyncResult, t0: float) -> None:
    """Video − sEMG per event, with the fitted offset + drift line and its ±1 sd band."""
    fit = r.events.fit
    ys = []
    for p in r.events.pairs:
        x = p.emg - t0
        c = COLORS[p.kind]
        bias = fit.bias_s if p.kind == "tap" else 0.0
        lo, hi = (p.lo - p.emg - bias) * 1e3, (p.hi - p.emg - bias) * 1e3
        if not p.subframe:
            ax.plot([x, x], [lo, hi], color=c, lw=2, alpha=0.4)
        ys += [lo, hi]
    if r.events.pairs:
        tt = np.linspace(min(p.emg for p in r.events.pairs), max(p.emg for p in r.events.pairs), 50)
        line = (fit.to_video(tt) - tt) * 1e3
        sd = np.hypot(fit.sd_offset_s, fit.sd_drift_ppm * 1e-6 * (tt - fit.t_ref)) * 1e3
        band = np.hypot(2 * sd, r.events.systematic_s * 1e3)  # as the stated accuracy
        ax.plot(tt - t0, line, "k", lw=1.2, label=f"fit: {fit.drift_ppm:+.1f} ppm")
        ax.fill_between(tt - t0, line - band, line + band, color="k", alpha=0.15,
                        label="stated accuracy (95 %)")
        ys += [float(np.min(line)), float(np.max(line))]
        pad = 0.05 * (max(ys) - min(ys)) + 1.0
        ax.set_ylim(min(ys) - pad, max(ys) + pad)
        ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("video − sEMG (ms)")
    ax.set_title("offset and drift (taps corrected by their bias)", fontsize=10)
    ax.grid(alpha=0.3)


def _zoom_panel(ax, r: SyncResult, kind: str, trace, label: str, t0: float) -> None:
    """The video signal around the first matched event of ``kind``, on the common
    timeline, with the sEMG's time of that event as a vertical line."""
    pairs = [p for p in r.events.pairs if p.kind == kind and p.consistent]
    ax.set_title(f"{LABELS[kind]}: video {label} vs sEMG", fontsize=10)
    if not pairs or trace is None:
        ax.text(0.5, 0.5, f"no matched {LABELS[kind]}", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return
    p = pairs[0]
    fit = r.events.fit
    t = fit.to_emg(trace.times)
    win = (t > p.emg - 0.3) & (t < p.emg + 0.3)
    ax.plot((t[win] - p.emg) * 1e3, trace.values[win], ".-", color=COLORS[kind], lw=1,
            label=f"video ({label})")
    ax.axvline(0, color="k", lw=1.2, label="sEMG onset")
    lo, hi = (float(fit.to_emg(p.lo)) - p.emg) * 1e3, (float(fit.to_emg(p.hi)) - p.emg) * 1e3
    ax.axvspan(lo, hi, color=COLORS[kind], alpha=0.15, label="frame interval")
    ax.set_xlabel(f"ms from the sEMG {LABELS[kind]} at {p.emg - t0:.2f} s")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)


def _binned(ax, x: list[float], y: list[float], bins: int = 6) -> None:
    """Mean residual per time bin (± its standard error): a false drift shows as a slope."""
    if len(x) < 2 * bins:
        return
    x, y = np.asarray(x), np.asarray(y)
    edges = np.linspace(x.min(), x.max() + 1e-9, bins + 1)
    k = np.digitize(x, edges) - 1
    mid, m, se = [], [], []
    for b in range(bins):
        sel = y[k == b]
        if sel.size >= 2:
            mid.append((edges[b] + edges[b + 1]) / 2)
            m.append(sel.mean())
            se.append(sel.std(ddof=1) / np.sqrt(sel.size))
    ax.errorbar(mid, m, yerr=se, fmt="D-", color="k", ms=4, lw=1, capsize=3,
                label="binned mean ± se")
    ax.legend(fontsize=8, loc="upper right")


def _frames_panel(ax, r: SyncResult, t0: float, n_events: int = 4) -> None:
    """The video frames around each of the first sEMG taps: the frame before, at and
    after the sEMG tap time. Whether the hand is still moving before and resting after
    is seen in the pictures themselves, not in a trace drawn through the fit."""
    from mimicsync.dataset.recording import Recording
    taps = sorted(p.emg for p in r.events.pairs if p.kind == "tap")[:n_events]
    ax.set_title("video frames around sEMG taps (before · at · after)", fontsize=10)
    ax.set_axis_off()
    if not taps or not r.path.exists():
        ax.text(0.5, 0.5, "no matched tap", ha="center", va="center", transform=ax.transAxes)
        return
    rows = []
    with Recording(r.path) as rec:
        for t in taps:
            k = int(np.clip(np.searchsorted(r.frame_times, t), 1, len(r.frame_times) - 2))
            strip = [rec.color(i)[::4, ::4] for i in (k - 1, k, k + 1)]
            rows.append(np.hstack(strip))
            dts = [(r.frame_times[i] - t) * 1e3 for i in (k - 1, k, k + 1)]
            ax.text(1.0, 1 - (len(rows) - 0.5) / len(taps),
                    f"{t - t0:.1f} s\n" + " ".join(f"{d:+.0f}" for d in dts) + " ms",
                    transform=ax.transAxes, fontsize=7, va="center")
    ax.imshow(np.vstack(rows), aspect="auto")

