"""Video encode speed: seconds of video written per second of wall time by the `video`
job kind against PyAV alone encoding as many pre-made frames with the same settings.

Ours is the whole job (scenes from the local model, cards drawn, fades blended, H.264
encoded, MP4 written). The baseline loops over a few `av.VideoFrame`s made beforehand
(RGB, converted by the encoder as ours converts its fades), so the difference is what
drawing, blending and the job's bookkeeping cost, and what holding converted stills saves.

    python bench/media.py [--seconds 20] [--width 1280] [--height 720] [--fps 25]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.content import Scene  # noqa: E402
from tasks.types import JobContext  # noqa: E402
from tasks.video import VideoParams, run_video  # noqa: E402
from tasks.video.encoding import Mp4Writer  # noqa: E402
from tasks.video.frames import scene_card  # noqa: E402

SCRIPT = (
    "第一幕：清晨的城市醒来。第二幕：人们走进地铁，开始新的一天。第三幕：午后的阳光洒在街道上。"
    "第四幕：夜晚灯火通明。"
)
DISTINCT_FRAMES = 4


def ours_s(seconds: float, width: int, height: int, fps: int) -> float:
    """Wall seconds for `run_video` to write the video."""
    params = VideoParams(script=SCRIPT, duration=seconds, width=width, height=height, fps=fps)
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        run_video(JobContext(params=params, workdir=Path(workdir)))
        return time.perf_counter() - started


def pyav_s(seconds: float, width: int, height: int, fps: int) -> float:
    """Wall seconds for PyAV to encode as many pre-made frames through the same writer."""
    pictures = [
        scene_card(Scene(f"第{i}幕", "人们走进地铁，开始新的一天。", 1), i, width, height)
        for i in range(DISTINCT_FRAMES)
    ]
    frames = [av.VideoFrame.from_ndarray(np.ascontiguousarray(p), format="rgb24") for p in pictures]
    count = round(seconds * fps)
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        with Mp4Writer(Path(workdir) / "video.mp4", width, height, fps) as writer:
            for i in range(count):
                # A new picture every second, as a video of one-second scenes would have.
                writer.write(frames[(i // fps) % DISTINCT_FRAMES])
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=25)
    args = parser.parse_args()
    size = (args.seconds, args.width, args.height, args.fps)
    ours_s(*size)  # warm: fonts loaded, codec initialised
    ours, pyav = ours_s(*size), pyav_s(*size)
    print(f"{args.seconds:g} s of {args.width}x{args.height} at {args.fps} fps")
    print(f"run_video:  {ours:6.2f} s wall, {args.seconds / ours:6.1f} s of video per s")
    print(f"pyav alone: {pyav:6.2f} s wall, {args.seconds / pyav:6.1f} s of video per s")
    print(f"ratio (run_video speed / pyav speed): {pyav / ours:.2f}")


if __name__ == "__main__":
    main()
