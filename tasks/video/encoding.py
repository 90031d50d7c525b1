"""Writing frames to an H.264 MP4 that common players open (yuv420p), atomically: the file
appears under its name only once the container is closed."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import av
from av.container import OutputContainer
from av.video.stream import VideoStream

CODEC = "libx264"
PIXEL_FORMAT = "yuv420p"  # 4:2:0: the only chroma layout every browser and phone decodes
# veryfast: several times faster than x264's default on slides of still text, which x264
# codes as skipped blocks anyway; crf 23 is x264's default quality.
CODEC_OPTIONS = {"preset": "veryfast", "crf": "23"}
# The index (moov) at the front, so a player can start before the whole file has arrived.
CONTAINER_OPTIONS = {"movflags": "+faststart"}


def add_h264_stream(container: OutputContainer, width: int, height: int, fps: int) -> VideoStream:
    """The farm's H.264 stream settings on `container`: `fps` frames a second, frame `n`
    shown at `n / fps` seconds."""
    stream = container.add_stream(CODEC, rate=fps, options=dict(CODEC_OPTIONS))
    assert isinstance(stream, VideoStream)
    stream.width, stream.height, stream.pix_fmt = width, height, PIXEL_FORMAT
    return stream


class Mp4Writer:
    """A context manager taking frames in order. Frames are written under a temporary name
    beside `path`, renamed to `path` when the block ends normally and deleted when it
    raises (a failed or cancelled job leaves no half-written video)."""

    def __init__(self, path: Path, width: int, height: int, fps: int) -> None:
        self.path, self.size, self.fps = path, (width, height), fps
        self.partial = path.with_name(f".{path.name}.part")
        self.frames_written = 0

    def __enter__(self) -> Mp4Writer:
        self.container = av.open(
            str(self.partial), "w", format="mp4", options=dict(CONTAINER_OPTIONS)
        )
        self.stream = add_h264_stream(self.container, *self.size, self.fps)
        return self

    def write(self, frame: av.VideoFrame) -> None:
        """Append `frame` (any pixel format; converted as needed). The same frame object
        may be written again: its timestamp is set here."""
        frame.pts = self.frames_written
        self.container.mux(self.stream.encode(frame))
        self.frames_written += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            self.container.mux(self.stream.encode(None))
            self.container.close()
        except BaseException:
            self._discard()
            raise
        self.partial.replace(self.path)

    def _discard(self) -> None:
        try:
            self.container.close()
        finally:
            self.partial.unlink(missing_ok=True)
