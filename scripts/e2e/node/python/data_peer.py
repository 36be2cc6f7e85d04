"""A Python `livekit` participant for the browser data test: joins a room,
publishes a message (topic "py") every 300 ms until it has received one from
`--expect` (topic "web"), sends a few more so the other side surely gets
one, keeps listening until `--expect` sends topic "end", then prints one
JSON line {"ok", "got", "from", "topic", "topics"} and leaves. `topics` is
every topic received from `--expect`, in order.

Usage: data_peer.py WS_URL TOKEN --expect web [--dual-pc] [--timeout 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from livekit import rtc


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("--expect", required=True)
    ap.add_argument("--dual-pc", action="store_true")
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()

    room = rtc.Room()
    got: asyncio.Future = asyncio.get_running_loop().create_future()
    ended: asyncio.Future = asyncio.get_running_loop().create_future()
    topics: list = []

    @room.on("data_received")
    def _on_data(pkt: rtc.DataPacket):
        sender = pkt.participant.identity if pkt.participant else None
        if sender != args.expect:
            return
        topics.append(pkt.topic)
        if not got.done():
            got.set_result((pkt.data.decode(errors="replace"), sender, pkt.topic))
        if pkt.topic == "end" and not ended.done():
            ended.set_result(True)

    opts = rtc.RoomOptions(single_peer_connection=not args.dual_pc, connect_timeout=15)
    await asyncio.wait_for(room.connect(args.url, args.token, opts), 25)
    result = {"ok": False, "got": None, "from": None, "topic": None, "topics": topics}
    try:
        deadline = asyncio.get_running_loop().time() + args.timeout
        while not got.done() and asyncio.get_running_loop().time() < deadline:
            await room.local_participant.publish_data(b"hello from python", topic="py")
            await asyncio.sleep(0.3)
        if got.done():
            text, sender, topic = got.result()
            result = {"ok": True, "got": text, "from": sender, "topic": topic, "topics": topics}
            while not ended.done() and asyncio.get_running_loop().time() < deadline:
                await room.local_participant.publish_data(b"hello from python", topic="py")
                await asyncio.sleep(0.3)
            result["ended"] = ended.done()
    finally:
        print(json.dumps(result), flush=True)
        await room.disconnect()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
