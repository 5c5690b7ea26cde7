"""Storage per minute of video: codec x content, against today's defaults in the same run.

Content:
  smooth     the simulator as it was: cartoon colours, depth with small iid noise;
  realistic  a real photograph as the face texture with fresh sensor noise per frame
             (acquisition/simulators/photo_texture.py), and D4xx depth: error growing
             with distance², speckle, occlusion bands and holes (depth_noise.py);
             colour through a D4xx's YUY2 link (4:2:2 chroma, as a real D4xx delivers
             it; camera_physics.py), and once more through a 4:4:4 link for comparison.

Per codec: KB per frame, MB per minute at 30 fps, encode ms/frame on one core, random
decode frames/s, and fidelity: bit-exact for depth; PSNR (dB, RGB) and SSIM against the
uncompressed frames for colour. Then whole-recording MB/min (colour + depth + 64 ch
sEMG), and a real file written by RecordingWriter with the old and the new defaults.

    python bench/storage.py [--frames 60] [--skip-file]

Needs the bench extra (scikit-image for the photo and SSIM, imagecodecs for PNG/JPEG-LS/
JPEG XL/Blosc as plain functions).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import imagecodecs as ic
import numpy as np
import rvl  # bench/rvl.py
import simplejpeg
from skimage.metrics import structural_similarity

from mimicsync.acquisition.simulators.camera import SimulatedCamera
from mimicsync.acquisition.simulators.camera_physics import CameraPhysics
from mimicsync.acquisition.simulators.depth_noise import resample_nearest
from mimicsync.acquisition.simulators.face_renderer import FaceRenderer
from mimicsync.acquisition.simulators.scenario import Movement, Scenario, Tap
from mimicsync.dataset import depth_codec
from mimicsync.dataset.color_codec import H264Decoder, H264Encoder
from mimicsync.format import DEFAULT_DEPTH, DEFAULT_JPEG_QUALITY, DepthMode

W, H, FPS = 1280, 720, 30.0
EMG_MB_MIN = (64 * 4 + 8) * 4096 * 60 / 1e6  # float32 samples + float64 timestamps, raw
DEPTH_SIZES = ((1280, 720), (848, 480), (640, 360), (480, 270))


@dataclass
class Row:
    codec: str
    bytes_per_frame: float
    encode_ms: float
    decode_fps: float
    fidelity: str

    @property
    def mb_min(self) -> float:
        return self.bytes_per_frame * FPS * 60 / 1e6


def scenario() -> Scenario:
    """Expressions all the time and a tap: the face keeps changing, as in a protocol."""
    return Scenario([Movement(0.0, 1.2, "smile-open"), Movement(1.2, 2.4, "surprise"),
                     Movement(2.4, 4.0, "eyes-tight")], [Tap(0.9), Tap(2.6, -45.0)], [])


def smooth_footage(n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r = FaceRenderer(W, H)  # the renderer's own noise: 3 fixed patterns, iid depth noise
    sc = scenario()
    frames = [r.render(sc, i / FPS, i) for i in range(n)]
    return [c for c, _ in frames], [d for _, d in frames]


def realistic_footage(n: int, depth_size: tuple[int, int],
                      transport: str = "yuyv") -> tuple[list, list]:
    """``transport="yuyv"``: colour through a D4xx's YUY2 link (4:2:2 chroma), as a real
    camera delivers it; ``"rgb8"``: every pixel's own chroma, as the sensor model draws it."""
    cam = SimulatedCamera(scenario(), width=W, height=H, fps=FPS, realtime=False,
                          footage="photo", depth_size=depth_size,
                          physics=CameraPhysics(transport=transport))
    cam.start()
    frames = [cam.read() for _ in range(n)]
    cam.stop()
    return [f.color for f in frames], [f.depth for f in frames]


def _time_per_call(fn: Callable, items: list) -> tuple[list, float]:
    fn(items[0])  # warm up (codec set-up, first allocation)
    t = time.perf_counter()
    out = [fn(x) for x in items]
    return out, (time.perf_counter() - t) / len(items)


def _random_order(n: int) -> np.ndarray:
    return np.random.default_rng(1).permutation(np.tile(np.arange(n), 2))


# -- depth -----------------------------------------------------------------------------
def _blosc(cname: str, level: int, shuffle: int, pre: str = depth_codec.NONE):
    """Blosc after a depth_codec filter; a ranking filter's value table rides in front
    (4-byte length), so the sizes count it."""
    def enc(d):
        stored, values = depth_codec.encode(d, pre)
        table = values[0] if values else b""
        return len(table).to_bytes(4, "little") + table + ic.blosc_encode(
            stored, level=level, compressor=cname, shuffle=shuffle, typesize=2, numthreads=1)

    def dec(b, shape):
        n = int.from_bytes(b[:4], "little")
        stored = np.frombuffer(ic.blosc_decode(b[4 + n:], numthreads=1), np.uint16)
        return depth_codec.decode(stored.reshape(shape), pre, b[4:4 + n] if n else None)
    return enc, dec


def _ranked(codec: tuple[Callable, Callable]) -> tuple[Callable, Callable]:
    """Another codec on the ranks (depth_codec.rank), with the value table in front."""
    enc0, dec0 = codec

    def enc(d):
        ranks, values = depth_codec.rank(d)
        return len(values).to_bytes(4, "little") + values.astype("<u2").tobytes() + enc0(ranks)

    def dec(b, shape):
        n = int.from_bytes(b[:4], "little")
        return np.frombuffer(b[4:4 + 2 * n], "<u2")[dec0(b[4 + 2 * n:], shape)]
    return enc, dec


def _ffv1():
    state: dict = {}

    def enc(d):
        cc = state.get("enc")
        if cc is None:
            cc = av.CodecContext.create("ffv1", "w")
            cc.width, cc.height, cc.pix_fmt = d.shape[1], d.shape[0], "gray16le"
            cc.time_base, cc.thread_count = Fraction(1, 30), 1
            cc.gop_size = 1  # every frame a keyframe: decodable on its own
            state["enc"] = cc
        f = av.VideoFrame.from_ndarray(d, format="gray16le")
        f.pts = state["n"] = state.get("n", -1) + 1
        return b"".join(bytes(p) for p in cc.encode(f))

    def dec(b, shape):
        cc = state.get("dec")
        if cc is None:
            cc = state["dec"] = av.CodecContext.create("ffv1", "r")
            cc.width, cc.height, cc.pix_fmt = shape[1], shape[0], "gray16le"
            cc.extradata = state["enc"].extradata
        return cc.decode(av.Packet(b))[0].to_ndarray()
    return enc, dec


def depth_codecs() -> dict[str, tuple[Callable, Callable]]:
    bit, byte = ic.BLOSC.SHUFFLE.BITSHUFFLE, ic.BLOSC.SHUFFLE.SHUFFLE
    vd, rvd = depth_codec.VDELTA, depth_codec.RANK_VDELTA
    jpegls = (ic.jpegls_encode, lambda b, s: ic.jpegls_decode(b))
    return {
        "blosc-lz4 L5 bitshuffle (before)": _blosc("lz4", 5, bit),
        "blosc-zstd L1 bitshuffle": _blosc("zstd", 1, bit),
        "blosc-zstd L3 bitshuffle": _blosc("zstd", 3, bit),
        "blosc-zstd L3 byteshuffle": _blosc("zstd", 3, byte),
        "vdelta + blosc-lz4 L5 bitshuffle": _blosc("lz4", 5, bit, vd),
        "vdelta + blosc-zstd L1 bitshuffle (format 2)": _blosc("zstd", 1, bit, vd),
        "vdelta + blosc-zstd L3 bitshuffle": _blosc("zstd", 3, bit, vd),
        "rank + vdelta + blosc-zstd L1 bitshuffle (new)": _blosc("zstd", 1, bit, rvd),
        "rank + vdelta + blosc-zstd L3 bitshuffle": _blosc("zstd", 3, bit, rvd),
        "RVL (numpy; times not C's)": (rvl.encode, rvl.decode),
        "FFV1 gray16le (PyAV)": _ffv1(),
        "rank + FFV1 gray16le (PyAV)": _ranked(_ffv1()),
        "PNG 16-bit level 1": (lambda d: ic.png_encode(d, level=1), lambda b, s: ic.png_decode(b)),
        "JPEG-LS (CharLS)": jpegls,
        "rank + JPEG-LS (CharLS)": _ranked(jpegls),
        "JPEG XL lossless effort 1": (
            lambda d: ic.jpegxl_encode(d, lossless=True, effort=1, numthreads=1),
            lambda b, s: ic.jpegxl_decode(b, numthreads=1)),
    }


def depth_rows(frames: list[np.ndarray]) -> list[Row]:
    rows = []
    shape = frames[0].shape
    order = _random_order(len(frames))
    for name, (enc, dec) in depth_codecs().items():
        blobs, t_enc = _time_per_call(enc, frames)
        exact = all(np.array_equal(dec(b, shape), f) for b, f in zip(blobs, frames))
        _, t_dec = _time_per_call(lambda i: dec(blobs[i], shape), list(order))
        rows.append(Row(name, float(np.mean([len(b) for b in blobs])), 1e3 * t_enc, 1 / t_dec,
                        "bit-exact" if exact else "NOT EXACT"))
    return rows


# -- colour ----------------------------------------------------------------------------
def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def color_rows(frames: list[np.ndarray], h264: bool = True) -> list[Row]:
    rows = []
    order = _random_order(len(frames))
    for q in (95, 90, 85, 80):
        for sub in ("444", "422", "420"):
            blobs, t_enc = _time_per_call(
                lambda f: simplejpeg.encode_jpeg(np.ascontiguousarray(f), q, colorspace="RGB",
                                                 colorsubsampling=sub), frames)
            tag = {(90, "444"): " (before)",
                   (DEFAULT_JPEG_QUALITY, "444"): " (new)"}.get((q, sub), "")
            rows.append(_color_row(f"JPEG q{q} {sub[0]}:{sub[1]}:{sub[2]}{tag}", frames, blobs,
                                   t_enc, lambda i, b=blobs: simplejpeg.decode_jpeg(
                                       b[i], colorspace="RGB"), order))
    if not h264:
        return rows
    for crf, gop, preset in ((18, 1, "ultrafast"), (20, 1, "ultrafast"), (23, 1, "ultrafast"),
                             (20, 1, "superfast"), (20, 10, "ultrafast"), (20, 30, "ultrafast"),
                             (14, 10, "ultrafast")):  # H.264 as good as JPEG q90: at what size
        enc = H264Encoder(W, H, crf=crf, gop=gop, preset=preset)
        blobs = [enc.encode(frames[0])]  # opens the codec: not timed
        t = time.perf_counter()
        blobs += [enc.encode(f) for f in frames[1:]]
        t_enc = (time.perf_counter() - t) / max(1, len(frames) - 1)
        dec = H264Decoder(gop)
        rows.append(_color_row(f"H.264 {preset} crf {crf} GOP {gop}", frames, blobs, t_enc,
                               lambda i, d=dec, b=blobs: d.frame(int(i), b.__getitem__), order))
    return rows


def _color_row(name: str, frames: list, blobs: list[bytes], t_enc: float, decode: Callable,
               order: np.ndarray) -> Row:
    out = [decode(i) for i in range(len(frames))]
    p = np.mean([psnr(a, b) for a, b in zip(frames, out)])
    step = max(1, len(frames) // 4)
    s = np.mean([structural_similarity(frames[i], out[i], channel_axis=2, data_range=255)
                 for i in range(0, len(frames), step)])
    _, t_dec = _time_per_call(decode, list(order))
    return Row(name, float(np.mean([len(b) for b in blobs])), 1e3 * t_enc, 1 / t_dec,
               f"PSNR {p:.1f} dB, SSIM {s:.3f}")


# -- report ----------------------------------------------------------------------------
def print_table(title: str, rows: list[Row], raw_bytes: int) -> None:
    print(f"\n### {title}\n")
    print("| codec | KB/frame | MB/min | ratio | encode ms/frame (1 core) | random decode fps "
          "| fidelity |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r.codec} | {r.bytes_per_frame / 1e3:.1f} | {r.mb_min:.0f} | "
              f"{raw_bytes / r.bytes_per_frame:.2f} | {r.encode_ms:.1f} | {r.decode_fps:.0f} | "
              f"{r.fidelity} |")


def find(rows: list[Row], text: str) -> Row:
    return next(r for r in rows if text in r.codec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60, help="frames per content (2 s at 30 fps)")
    ap.add_argument("--skip-file", action="store_true", help="skip the real-file check")
    args = ap.parse_args(argv)
    os.environ.setdefault("BLOSC_NTHREADS", "1")
    print(f"uptime: {os.popen('uptime').read().strip()}  (shared machine: times are upper "
          "bounds; sizes and PSNR do not depend on load)")
    n = args.frames
    smooth_c, smooth_d = smooth_footage(n)
    real_c, _ = realistic_footage(n, (W, H))
    rgb_c, _ = realistic_footage(n, (W, H), transport="rgb8")
    colour = {"smooth": color_rows(smooth_c), "realistic": color_rows(real_c),
              "realistic, 4:4:4 link (not a D4xx)": color_rows(rgb_c, h264=False)}
    for content, rows in colour.items():
        print_table(f"colour {W}x{H}, {content}", rows, W * H * 3)
    depth: dict[tuple[str, str], list[Row]] = {}
    for size in ((W, H), (848, 480)):
        frames = [resample_nearest(d, *size) for d in smooth_d]
        depth[("smooth", f"{size[0]}x{size[1]}")] = depth_rows(frames)
    for size in DEPTH_SIZES:
        _, frames = realistic_footage(n, size)
        depth[("realistic", f"{size[0]}x{size[1]}")] = depth_rows(frames)
        if size == (848, 480):  # a depth range: the wall behind is stored as no depth
            for mode in (DEPTH_NOW, DepthMode.parse("848x480:1.2")):
                near = [depth_codec.within_range(d, mode.max_m, 0.001) for d in frames]
                depth[("realistic", str(mode))] = depth_rows(near)
    for (content, mode), rows in depth.items():
        w, h = (int(v) for v in mode.split(":")[0].split("x"))
        print_table(f"depth {mode}, {content}", rows, w * h * 2)
    print_totals(colour, depth)
    if not args.skip_file:
        from storage_file import real_file_check  # bench/storage_file.py
        real_file_check(realistic_footage)
    return 0


BEFORE = ("JPEG q90 4:4:4 (before)", "blosc-lz4 L5 bitshuffle (before)", "1280x720")
# (label, colour codec, depth codec, depth mode): the defaults now, then options going further
DEPTH_NOW = DepthMode.parse(DEFAULT_DEPTH)
_Q = f"JPEG q{DEFAULT_JPEG_QUALITY} 4:4:4"
COMBOS = (("format 2 (848x480, row-difference + Blosc-Zstd)", "JPEG q90 4:4:4", "(format 2)",
           "848x480"),
          ("format 3: ranked depth, full range (session 3's defaults)", "JPEG q90 4:4:4", "(new)",
           "848x480"),
          ("JPEG q85, full-range depth (--depth 848x480)", _Q, "(new)", "848x480"),
          (f"now (defaults: JPEG q{DEFAULT_JPEG_QUALITY}, --depth {DEPTH_NOW})", _Q, "(new)",
           str(DEPTH_NOW)),
          ("--depth 848x480:1.2", _Q, "(new)", "848x480:1.2"),
          ("--depth 480x270 (full range)", _Q, "(new)", "480x270"),
          ("--color-quality 90 (more margin above 40 dB)", "JPEG q90 4:4:4", "(new)",
           str(DEPTH_NOW)),
          ("reference, not a recorder option: H.264 GOP 10", "crf 20 GOP 10", "(new)",
           str(DEPTH_NOW)))


def print_totals(colour: dict[str, list[Row]], depth: dict) -> None:
    print("\n### whole recording, MB per minute (colour + depth + 64 ch sEMG at 4096 Hz, "
          f"{EMG_MB_MIN:.0f} MB/min)\n")
    print("| content | setting | colour | depth | colour MB/min | depth MB/min | total MB/min "
          "| vs before |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    for content in ("smooth", "realistic"):
        c0, d0 = find(colour[content], BEFORE[0]), find(depth[(content, BEFORE[2])], BEFORE[1])
        before = c0.mb_min + d0.mb_min + EMG_MB_MIN
        rows = [("before", *BEFORE)] + [c for c in COMBOS if (content, c[3]) in depth]
        for label, cname, dname, mode in rows:
            c, d = find(colour[content], cname), find(depth[(content, mode)], dname)
            total = c.mb_min + d.mb_min + EMG_MB_MIN
            print(f"| {content} | {label} | {c.codec} | {d.codec} at {mode} | {c.mb_min:.0f} | "
                  f"{d.mb_min:.0f} | {total:.0f} | {before / total:.1f}x smaller |")


if __name__ == "__main__":
    raise SystemExit(main())
