"""Peer side of test_media_loss.py; runs inside the lossy network namespace.

Connects a publisher and a subscriber (official `livekit` Python SDK) to the
server at --url, publishes a 320x240 camera track whose picture changes every
frame (so the encoder keeps sending real deltas, whose loss breaks decoding
unless it is repaired), counts the frames the subscriber decodes per second
for --seconds, then scrapes the server's Prometheus endpoint and prints one
JSON line: {"per_second": [...], "width", "height", "sent_fps", "metrics"}.
Exits non-zero with a JSON line carrying "error" when something fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import urllib.request

import numpy as np
from livekit import api, rtc

DEV_KEY = "devkey"
DEV_SECRET = "secret"
ROOM = "loss-room"
WIDTH, HEIGHT = 320, 240
FPS = 30

# Counters the test reads; summed per (name, label filter).
METRICS = {
    "nack_incoming": ("livekit_nack_total", 'direction="incoming"'),
    "nack_outgoing": ("livekit_nack_total", 'direction="outgoing"'),
    "packet_retransmit": ("livekit_packet_retransmit_total", ""),
    "rtx_received": ("ringcast_rtx_received_total", ""),
    "pli": ("livekit_pli_total", ""),
    "forwarded_packets": ("ringcast_forwarded_packets_total", ""),
}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def token(identity: str) -> str:
    return (
        api.AccessToken(DEV_KEY, DEV_SECRET)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=ROOM))
        .to_jwt()
    )


def moving_frame(i: int) -> rtc.VideoFrame:
    """A frame unlike the previous one: shifting gradient plus a moving block."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    buf = np.empty((HEIGHT, WIDTH, 4), dtype=np.uint8)
    buf[:, :, 0] = (xs + 3 * i) % 256
    buf[:, :, 1] = (ys + 2 * i) % 256
    buf[:, :, 2] = (i * 7) % 256
    buf[:, :, 3] = 255
    bx = (i * 5) % (WIDTH - 40)
    by = (i * 3) % (HEIGHT - 40)
    buf[by : by + 40, bx : bx + 40, :3] = 255 - buf[by : by + 40, bx : bx + 40, :3]
    return rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, buf.tobytes())


async def pump(source: rtc.VideoSource, stop: asyncio.Event, sent: list) -> None:
    start = time.monotonic()
    i = 0
    while not stop.is_set():
        source.capture_frame(moving_frame(i), timestamp_us=int((time.monotonic() - start) * 1e6))
        i += 1
        sent[0] = i
        await asyncio.sleep(max(0.0, start + i / FPS - time.monotonic()))


async def connect(url: str, identity: str, single_pc: bool) -> rtc.Room:
    room = rtc.Room()
    opts = rtc.RoomOptions(auto_subscribe=True, single_peer_connection=single_pc, connect_timeout=20)
    await asyncio.wait_for(room.connect(url, token(identity), opts), 30)
    return room


async def wait_video(room: rtc.Room, identity: str, timeout: float) -> rtc.RemoteTrack:
    for p in room.remote_participants.values():
        if p.identity == identity:
            for pub in p.track_publications.values():
                if pub.track is not None and pub.kind == rtc.TrackKind.KIND_VIDEO:
                    return pub.track
    fut = asyncio.get_running_loop().create_future()

    def on_sub(track, pub, p):
        if p.identity == identity and track.kind == rtc.TrackKind.KIND_VIDEO and not fut.done():
            fut.set_result(track)

    room.on("track_subscribed", on_sub)
    try:
        return await asyncio.wait_for(fut, timeout)
    finally:
        room.off("track_subscribed", on_sub)


def scrape(metrics_url: str) -> dict:
    with urllib.request.urlopen(metrics_url, timeout=5) as resp:
        text = resp.read().decode(errors="replace")
    out = {key: 0.0 for key in METRICS}
    found = {key: False for key in METRICS}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        for key, (want, must) in METRICS.items():
            if name == want and must in labels:
                out[key] += value
                found[key] = True
    out["missing"] = [k for k, ok in found.items() if not ok]
    return out


async def run(args) -> dict:
    single_pc = args.single_pc == "true"
    pub_room = await connect(args.url, "loss-pub", single_pc)
    sub_room = await connect(args.url, "loss-sub", single_pc)
    stop = asyncio.Event()
    sent = [0]
    source = rtc.VideoSource(WIDTH, HEIGHT)
    track = rtc.LocalVideoTrack.create_video_track("cam", source)
    pump_task = asyncio.create_task(pump(source, stop, sent))
    try:
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA, simulcast=False)
        await asyncio.wait_for(pub_room.local_participant.publish_track(track, opts), 20)
        remote = await wait_video(sub_room, "loss-pub", 20)
        stream = rtc.VideoStream(remote)
        per_second = [0] * args.seconds
        size = [0, 0]
        start = time.monotonic()

        async def collect():
            async for ev in stream:
                sec = int(time.monotonic() - start)
                if sec >= args.seconds:
                    break
                per_second[sec] += 1
                size[0], size[1] = ev.frame.width, ev.frame.height

        try:
            await asyncio.wait_for(collect(), args.seconds + 1)
        except asyncio.TimeoutError:
            pass  # no frame arrived to end the loop; the counts say so
        finally:
            await stream.aclose()
        sent_frames = sent[0]
        # Workers publish counters every 100 ms; let the last ones land.
        await asyncio.sleep(0.5)
        metrics = await asyncio.to_thread(scrape, args.metrics_url)
        return {
            "per_second": per_second,
            "width": size[0],
            "height": size[1],
            "sent_fps": FPS,
            "sent_frames": sent_frames,
            "metrics": metrics,
        }
    finally:
        stop.set()
        await asyncio.gather(pump_task, return_exceptions=True)
        await sub_room.disconnect()
        await pub_room.disconnect()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--metrics-url", required=True)
    ap.add_argument("--seconds", type=int, default=12)
    ap.add_argument("--single-pc", choices=["true", "false"], default="true")
    args = ap.parse_args()
    try:
        result = asyncio.run(run(args))
    except Exception as e:  # reported to the test as data, not a traceback
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
