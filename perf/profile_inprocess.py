"""Where the CPU time goes: the in-process pipeline on the bench images, per stage, + cProfile.

Times each ONNX Runtime call per model (layout, seal_det, text_rec, with the rec line widths) and
everything else (decode, pre/post-processing, warp, CTC) over one pass of the benchmark images,
then writes ``perf/results/profile.md`` with the split and cProfile's top functions::

    .venv/bin/python -m perf.profile_inprocess [--threads 2]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import Counter

from perf.common import MODEL_REPOSITORY, RESULTS_DIR, image_set, machine, uptime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--synthetic", type=int, default=6)
    args = parser.parse_args(argv)

    from seal_ocr.image_io import decode_image
    from seal_ocr.pipeline import SealRecognizer

    recognizer = SealRecognizer.from_model_repository(MODEL_REPOSITORY, threads=args.threads)
    spent: Counter = Counter()
    calls: Counter = Counter()
    widths: Counter = Counter()

    def timed(name, run):
        def wrapper(*inputs):
            t0 = time.perf_counter()
            try:
                return run(*inputs)
            finally:
                spent[name] += time.perf_counter() - t0
                calls[name] += 1
                if name == "text_rec":
                    widths[int(inputs[0].shape[-1])] += 1

        return wrapper

    recognizer.run_layout = timed("layout", recognizer.run_layout)
    recognizer.run_det = timed("seal_det", recognizer.run_det)
    recognizer.run_rec = timed("text_rec", recognizer.run_rec)
    images = image_set(args.synthetic)
    recognizer.predict(decode_image(images[0].data))  # warm-up
    spent.clear(), calls.clear(), widths.clear()
    load = uptime()
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for image in images:
        recognizer.predict(decode_image(image.data))
    profile.disable()
    total = time.perf_counter() - started
    other = total - sum(spent.values())
    stream = io.StringIO()
    pstats.Stats(profile, stream=stream).sort_stats("tottime").print_stats(15)
    top = "\n".join(
        line
        for line in stream.getvalue().splitlines()
        if line.strip() and ("{" in line or "/" in line)
    )
    lines = [
        "# CPU profile of the in-process pipeline",
        "",
        f"Command: `.venv/bin/python -m perf.profile_inprocess --threads {args.threads}`. "
        f"{len(images)} bench images, one pass, {total:.1f} s wall (cProfile on). Machine: "
        f"{machine()}, **shared** ({load} at the start).",
        "",
        "| part | calls | seconds | share |",
        "|---|---:|---:|---:|",
    ]
    for name in ("layout", "seal_det", "text_rec"):
        lines.append(
            f"| ONNX Runtime {name} | {calls[name]} | {spent[name]:.2f} "
            f"| {spent[name] / total:.0%} |"
        )
    lines.append(f"| everything else (Python, OpenCV) | - | {other:.2f} | {other / total:.0%} |")
    common = ", ".join(f"{w}: {n}" for w, n in sorted(widths.items(), key=lambda x: -x[1])[:8])
    lines += [
        "",
        f"text_rec line widths (width: lines), most common first: {common}; "
        f"{len(widths)} distinct widths over {sum(widths.values())} lines.",
        "",
        "cProfile, top functions by own time:",
        "",
        "```",
        top,
        "```",
    ]
    report = "\n".join(lines) + "\n"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "profile.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
