"""Media helpers for the end-to-end suites: publish a tone or solid-colour
frames from a Python participant, and measure what a subscriber decodes
(frequency and level of received PCM, size and colour of received frames)."""

from __future__ import annotations

import asyncio
import time
from typing import Optional

import numpy as np
from livekit import rtc

SAMPLE_RATE = 48000
TONE_AMPLITUDE = 8000  # int16 peak; RMS of the sine is amplitude / sqrt(2)


async def pump_tone(source: rtc.AudioSource, freq: float, stop: asyncio.Event, amplitude: int = TONE_AMPLITUDE) -> None:
    """Feeds `source` a sine in 10 ms frames until `stop` is set."""
    n = SAMPLE_RATE // 100
    t = 0
    while not stop.is_set():
        s = (np.sin(2 * np.pi * freq * (np.arange(n) + t) / SAMPLE_RATE) * amplitude).astype(np.int16)
        t += n
        await source.capture_frame(rtc.AudioFrame(s.tobytes(), SAMPLE_RATE, 1, n))


async def publish_tone(room: rtc.Room, freq: float, name: str = "mic", amplitude: int = TONE_AMPLITUDE):
    """Publishes a microphone track carrying a sine; returns (publication, stop event, task)."""
    source = rtc.AudioSource(SAMPLE_RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track(name, source)
    stop = asyncio.Event()
    task = asyncio.create_task(pump_tone(source, freq, stop, amplitude))
    opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    pub = await asyncio.wait_for(room.local_participant.publish_track(track, opts), 15)
    return pub, stop, task


async def record_audio(track: rtc.Track, seconds: float, skip: float = 0.5) -> np.ndarray:
    """PCM (mono int16 at 48 kHz) decoded from `track`; the first `skip`
    seconds (jitter-buffer start) are dropped. Stops early on timeout."""
    stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
    chunks = []
    got = 0
    want = int((seconds + skip) * SAMPLE_RATE)

    async def collect():
        nonlocal got
        async for ev in stream:
            data = np.frombuffer(ev.frame.data, dtype=np.int16)
            chunks.append(data.copy())
            got += len(data)
            if got >= want:
                break

    try:
        await asyncio.wait_for(collect(), seconds + skip + 10)
    except asyncio.TimeoutError:
        pass
    finally:
        await stream.aclose()
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    return pcm[int(skip * SAMPLE_RATE):]


def dominant_frequency(pcm: np.ndarray) -> float:
    x = pcm.astype(np.float64)
    if len(x) < SAMPLE_RATE // 10:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    return float(freqs[int(np.argmax(spec))])


def frequency_energy(pcm: np.ndarray, freq: float, width: float = 10.0) -> float:
    """Share of the signal's spectral energy within `width` Hz of `freq`."""
    x = pcm.astype(np.float64)
    if len(x) == 0:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    band = (freqs > freq - width) & (freqs < freq + width)
    total = spec.sum()
    return float(spec[band].sum() / total) if total > 0 else 0.0


def rms(pcm: np.ndarray) -> float:
    if len(pcm) == 0:
        return 0.0
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def solid_frame(width: int, height: int, rgb: tuple[int, int, int]) -> rtc.VideoFrame:
    buf = np.empty((height, width, 4), dtype=np.uint8)
    buf[:, :, 0], buf[:, :, 1], buf[:, :, 2], buf[:, :, 3] = rgb[0], rgb[1], rgb[2], 255
    return rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, buf.tobytes())


async def pump_colour(source: rtc.VideoSource, frames: dict, stop: asyncio.Event, fps: int = 30) -> None:
    """Sends `frames["now"]` (swappable while running) at `fps` until stopped."""
    start = time.monotonic()
    i = 0
    while not stop.is_set():
        source.capture_frame(frames["now"], timestamp_us=int((time.monotonic() - start) * 1e6))
        i += 1
        await asyncio.sleep(max(0.0, start + i / fps - time.monotonic()))


async def publish_colour(room: rtc.Room, width: int, height: int, rgb, name: str = "cam", simulcast: bool = False):
    """Publishes a camera track of solid frames; returns (pub, frames dict, stop, task)."""
    source = rtc.VideoSource(width, height)
    track = rtc.LocalVideoTrack.create_video_track(name, source)
    frames = {"now": solid_frame(width, height, rgb)}
    stop = asyncio.Event()
    task = asyncio.create_task(pump_colour(source, frames, stop))
    opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA, simulcast=simulcast)
    pub = await asyncio.wait_for(room.local_participant.publish_track(track, opts), 15)
    return pub, frames, stop, task


def mean_rgb(frame: rtc.VideoFrame) -> tuple[int, int, int]:
    rgba = frame.convert(rtc.VideoBufferType.RGBA)
    a = np.frombuffer(rgba.data, dtype=np.uint8).reshape(rgba.height, rgba.width, 4)
    m = a[:, :, :3].reshape(-1, 3).mean(axis=0)
    return int(m[0]), int(m[1]), int(m[2])


def close_to(rgb, want, tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(rgb, want))


async def wait_track(room: rtc.Room, identity: str, kind, timeout: float = 15) -> rtc.RemoteTrack:
    """The first subscribed track of `kind` from `identity` (already there or yet to come)."""
    for p in room.remote_participants.values():
        if p.identity == identity:
            for pub in p.track_publications.values():
                if pub.track is not None and pub.kind == kind:
                    return pub.track
    fut = asyncio.get_running_loop().create_future()

    def on_sub(track: rtc.Track, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant):
        if p.identity == identity and track.kind == kind and not fut.done():
            fut.set_result(track)

    room.on("track_subscribed", on_sub)
    try:
        return await asyncio.wait_for(fut, timeout)
    finally:
        room.off("track_subscribed", on_sub)


async def first_frame(track: rtc.Track, timeout: float) -> Optional[rtc.VideoFrame]:
    stream = rtc.VideoStream(track)
    try:
        async def one():
            async for ev in stream:
                return ev.frame
        return await asyncio.wait_for(one(), timeout)
    except asyncio.TimeoutError:
        return None
    finally:
        await stream.aclose()
