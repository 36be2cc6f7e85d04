"""Peer side of test_media_loss.py; runs inside the lossy network namespace.

Connects a publisher and a subscriber (official `livekit` Python SDK) to the
server at --url, publishes a 320x240 camera track whose picture changes
every frame (the encoder keeps sending real deltas, so a lost packet breaks
decoding unless it is repaired), and for --seconds from the subscriber's
first decoded frame records when each frame arrives. Then it reads the
server's Prometheus counters and both sides' WebRTC stats (the publisher's
outbound stream says how many NACKs it got and how many packets it resent)
and prints one JSON line. Failures are printed as {"error": ...}, exit 1.
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
WIDTH, HEIGHT = 320, 240
FPS = 30

# Server counters the test reads: key -> (metric name, label that must match).
METRICS = {
    "nack_incoming": ("livekit_nack_total", 'direction="incoming"'),
    "nack_outgoing": ("livekit_nack_total", 'direction="outgoing"'),
    "packet_retransmit": ("livekit_packet_retransmit_total", ""),
    "rtx_received": ("ringcast_rtx_received_total", ""),
    "nack_miss": ("ringcast_nack_miss_total", ""),
    "nack_repaired": ("ringcast_publisher_nack_outcomes_total", 'outcome="repaired"'),
    "pli_incoming": ("livekit_pli_total", 'direction="incoming"'),
    "pli_outgoing": ("livekit_pli_total", 'direction="outgoing"'),
}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def token(room: str, identity: str) -> str:
    return (
        api.AccessToken(DEV_KEY, DEV_SECRET)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )


def moving_frames(n: int) -> list[rtc.VideoFrame]:
    """`n` frames each unlike the last: a shifting gradient and a moving
    inverted block."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    out = []
    for i in range(n):
        buf = np.empty((HEIGHT, WIDTH, 4), dtype=np.uint8)
        buf[:, :, 0] = (xs + 3 * i) % 256
        buf[:, :, 1] = (ys + 2 * i) % 256
        buf[:, :, 2] = (i * 7) % 256
        buf[:, :, 3] = 255
        bx, by = (i * 5) % (WIDTH - 40), (i * 3) % (HEIGHT - 40)
        block = buf[by : by + 40, bx : bx + 40, :3]
        buf[by : by + 40, bx : bx + 40, :3] = 255 - block
        out.append(rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, buf.tobytes()))
    return out


async def pump(source: rtc.VideoSource, stop: asyncio.Event, sent: list[float]) -> None:
    """Captures frames at FPS; `sent` gets each capture time."""
    frames = moving_frames(FPS)  # a one-second loop, always changing
    start = time.monotonic()
    i = 0
    while not stop.is_set():
        ts = int((time.monotonic() - start) * 1e6)
        source.capture_frame(frames[i % len(frames)], timestamp_us=ts)
        sent.append(time.monotonic())
        i += 1
        await asyncio.sleep(max(0.0, start + i / FPS - time.monotonic()))


async def connect(url: str, room: str, identity: str, single_pc: bool) -> rtc.Room:
    r = rtc.Room()
    opts = rtc.RoomOptions(auto_subscribe=True, single_peer_connection=single_pc)
    await asyncio.wait_for(r.connect(url, token(room, identity), opts), 20)
    return r


async def wait_video(room: rtc.Room, identity: str, timeout: float) -> rtc.RemoteTrack:
    fut = asyncio.get_running_loop().create_future()

    def on_sub(track, _pub, p):
        if p.identity == identity and track.kind == rtc.TrackKind.KIND_VIDEO and not fut.done():
            fut.set_result(track)

    room.on("track_subscribed", on_sub)
    try:
        for p in room.remote_participants.values():
            for pub in p.track_publications.values():
                if p.identity == identity and pub.track is not None and pub.kind == rtc.TrackKind.KIND_VIDEO:
                    return pub.track
        return await asyncio.wait_for(fut, timeout)
    finally:
        room.off("track_subscribed", on_sub)


def scrape(metrics_url: str) -> dict:
    with urllib.request.urlopen(metrics_url, timeout=5) as resp:
        text = resp.read().decode(errors="replace")
    out = {key: 0.0 for key in METRICS}
    missing = set(METRICS)
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or line.startswith("#"):
            continue
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        for key, (want, must) in METRICS.items():
            if name == want and must in labels:
                out[key] += value
                missing.discard(key)
    out["missing"] = sorted(missing)
    return out


async def publisher_stats(track: rtc.LocalVideoTrack) -> dict:
    for st in await track.get_stats():
        if st.WhichOneof("stats") == "outbound_rtp":
            o = st.outbound_rtp
            return {
                "packets_sent": o.sent.packets_sent,
                "nack_count": o.outbound.nack_count,
                "retransmitted_packets_sent": o.outbound.retransmitted_packets_sent,
                "rtx_ssrc": o.outbound.rtx_ssrc,
                "pli_count": o.outbound.pli_count,
                "frames_encoded": o.outbound.frames_encoded,
                "key_frames_encoded": o.outbound.key_frames_encoded,
            }
    return {}


async def subscriber_stats(track: rtc.RemoteVideoTrack) -> dict:
    for st in await track.get_stats():
        if st.WhichOneof("stats") == "inbound_rtp":
            i = st.inbound_rtp
            return {
                "packets_received": i.received.packets_received,
                "packets_lost": i.received.packets_lost,
                "nack_count": i.inbound.nack_count,
                "pli_count": i.inbound.pli_count,
                "frames_decoded": i.inbound.frames_decoded,
                "key_frames_decoded": i.inbound.key_frames_decoded,
                "freeze_count": i.inbound.freeze_count,
            }
    return {}


async def run(args) -> dict:
    single_pc = args.single_pc == "true"
    pub_room = await connect(args.url, args.room, "loss-pub", single_pc)
    sub_room = await connect(args.url, args.room, "loss-sub", single_pc)
    stop = asyncio.Event()
    sent: list[float] = []
    source = rtc.VideoSource(WIDTH, HEIGHT)
    track = rtc.LocalVideoTrack.create_video_track("cam", source)
    pump_task = asyncio.create_task(pump(source, stop, sent))
    try:
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA, simulcast=False)
        await asyncio.wait_for(pub_room.local_participant.publish_track(track, opts), 20)
        remote = await wait_video(sub_room, "loss-pub", 20)
        stream = rtc.VideoStream(remote)
        arrivals: list[float] = []
        sizes: set = set()

        async def collect() -> None:
            async for ev in stream:
                now = time.monotonic()
                if arrivals and now - arrivals[0] >= args.seconds:
                    return
                arrivals.append(now)
                sizes.add((ev.frame.width, ev.frame.height))

        try:
            await asyncio.wait_for(collect(), args.seconds + 15)
        except asyncio.TimeoutError:
            pass  # the frames counted so far say what happened
        finally:
            await stream.aclose()
        # Workers publish their counters every 100 ms; let the last land.
        await asyncio.sleep(0.5)
        metrics = await asyncio.to_thread(scrape, args.metrics_url)
        start = arrivals[0] if arrivals else time.monotonic()
        end = start + args.seconds
        return {
            # Wall-clock time of the first frame, to line up with server logs.
            "first_frame_utc": time.time() - (time.monotonic() - start),
            "arrivals": [round(t - start, 3) for t in arrivals],
            "sent_in_window": sum(1 for t in sent if start <= t < end),
            "sizes": sorted(sizes),
            "metrics": metrics,
            "publisher": await publisher_stats(track),
            "subscriber": await subscriber_stats(remote),
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
    ap.add_argument("--room", default="loss-room")
    ap.add_argument("--seconds", type=float, default=10.0)
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
