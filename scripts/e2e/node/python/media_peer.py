"""A Python `livekit` participant for the browser <-> Python media test:
joins a room, publishes a 440 Hz tone as its microphone, and decodes the
camera of `--expect` (rtc.VideoStream). When `--frames` frames were decoded
(or `--timeout` passed) it prints one JSON line
{"ok", "frames", "width", "height", "tone_published"}; it keeps the tone
going until stdin closes or says "stop" (the browser is still listening),
then leaves.

Usage: media_peer.py WS_URL TOKEN --expect web [--dual-pc] [--frames 30] [--timeout 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from livekit import rtc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import media_support  # noqa: E402  (scripts/e2e/python, imported by path)


async def count_frames(track: rtc.Track, want: int, result: dict) -> None:
    """Counts decoded frames of `track` into `result` until `want`."""
    stream = rtc.VideoStream(track)
    try:
        async for ev in stream:
            result["frames"] += 1
            result["width"] = ev.frame.width
            result["height"] = ev.frame.height
            if result["frames"] >= want:
                return
    finally:
        await stream.aclose()


async def wait_stop() -> None:
    """Returns when stdin closes or a "stop" line arrives."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "stop":
            return


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("--expect", required=True)
    ap.add_argument("--dual-pc", action="store_true")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--timeout", type=float, default=40)
    args = ap.parse_args()

    room = rtc.Room()
    opts = rtc.RoomOptions(single_peer_connection=not args.dual_pc, connect_timeout=15)
    await asyncio.wait_for(room.connect(args.url, args.token, opts), 25)
    result = {"ok": False, "frames": 0, "width": 0, "height": 0, "tone_published": False}
    stop = None
    task = None
    try:
        _, stop, task = await media_support.publish_tone(room, 440.0)
        result["tone_published"] = True
        try:
            track = await media_support.wait_track(room, args.expect, rtc.TrackKind.KIND_VIDEO, args.timeout)
            await asyncio.wait_for(count_frames(track, args.frames, result), args.timeout)
        except asyncio.TimeoutError:
            result["error"] = "timeout"
        result["ok"] = result["frames"] >= args.frames
        print(json.dumps(result), flush=True)
        try:
            await asyncio.wait_for(wait_stop(), args.timeout)
        except asyncio.TimeoutError:
            pass
    finally:
        if stop is not None:
            stop.set()
        if task is not None:
            await asyncio.wait([task], timeout=2)
        await room.disconnect()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
