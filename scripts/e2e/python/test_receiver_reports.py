"""The server sends publishers RTCP receiver reports, judged by the
publisher's own WebRTC stats in the official Python SDK: libwebrtc builds
`remote-inbound-rtp` stats only from receiver reports, and measures the
round trip only when a report echoes its sender report (LSR/DLSR)."""

from __future__ import annotations

import asyncio

import pytest
from livekit import rtc

from media_support import publish_colour, wait_track
from test_connect import VARIANTS, connect

RED = (220, 30, 30)


async def remote_inbound(track) -> list:
    out = []
    for st in await track.get_stats():
        if st.WhichOneof("stats") == "remote_inbound_rtp":
            out.append(st.remote_inbound_rtp)
    return out


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_publishers_get_receiver_reports_with_a_round_trip(server, single_pc):
    alice = await connect(server, "alice", single_pc, room="reports")
    bob = await connect(server, "bob", single_pc, room="reports")
    pub, frames, stop, task = await publish_colour(alice, 320, 240, RED)
    try:
        await wait_track(bob, "alice", rtc.TrackKind.KIND_VIDEO)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        reports = []
        while loop.time() < deadline:
            reports = await remote_inbound(pub.track)
            if any(r.remote_inbound.round_trip_time_measurements > 0 for r in reports):
                break
            await asyncio.sleep(0.5)
        assert reports, "the publisher never got a receiver report"
        r = max(reports, key=lambda r: r.remote_inbound.round_trip_time_measurements)
        assert r.remote_inbound.round_trip_time_measurements > 0, f"no round trip measured: {r}"
        # Loopback: a round trip well under 100 ms, and nothing lost.
        assert 0 <= r.remote_inbound.round_trip_time < 0.1, r
        assert r.received.packets_lost == 0, r
    finally:
        stop.set()
        await task
        await alice.disconnect()
        await bob.disconnect()
