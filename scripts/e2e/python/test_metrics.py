"""Prometheus metrics on `prometheus_port`: two official Python `livekit`
participants connect, and `GET /metrics` reports them in livekit-server's
participant gauge while the dataplane's per-worker packet counters (copied
through shared memory) grow between two scrapes."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from livekit import api, rtc

from conftest import free_port
from support import DEV_KEY, DEV_SECRET

ROOM = "metrics-room"


def token(identity: str) -> str:
    return (
        api.AccessToken(DEV_KEY, DEV_SECRET)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=ROOM))
        .to_jwt()
    )


async def connect(server, identity: str) -> rtc.Room:
    r = rtc.Room()
    opts = rtc.RoomOptions(auto_subscribe=True, connect_timeout=15)
    await asyncio.wait_for(r.connect(server.ws_url, token(identity), opts), 25)
    return r


async def scrape(port: int) -> tuple[str, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
            return resp.headers.get("content-type", ""), await resp.text()


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def samples(text: str) -> dict[str, list[tuple[str, float]]]:
    """name -> [(labels, value)] for every sample line."""
    out: dict[str, list[tuple[str, float]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        out.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(3))))
    return out


def total(s: dict, name: str, must_contain: str = "") -> float:
    assert name in s, f"{name} missing from /metrics"
    return sum(v for labels, v in s[name] if must_contain in labels)


def start_with_metrics(start_server, driver: str = "auto"):
    port = free_port()
    body = f"prometheus_port: {port}\ndataplane:\n  driver: {driver}\n"
    srv = start_server(args=["--config-body", body])
    return srv, port


# Both drivers count packets in their own code; both must reach the region.
@pytest.mark.parametrize("driver", ["io_uring", "portable"])
async def test_metrics_report_participants_and_growing_worker_packets(start_server, driver):
    srv, port = start_with_metrics(start_server, driver)
    alice = await connect(srv, "alice")
    bob = await connect(srv, "bob")
    try:
        # Workers publish their counters every 100 ms; give the first scrape
        # a moment to see the checks of both connects.
        deadline = asyncio.get_running_loop().time() + 3
        while True:
            ctype, first_text = await scrape(port)
            first = samples(first_text)
            if total(first, "ringcast_worker_packets_total", 'direction="incoming"') > 0:
                break
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
        assert ctype.startswith("text/plain")
        assert total(first, "livekit_participant_total") == 2
        assert total(first, "livekit_room_total") == 1
        packets_in_1 = total(first, "ringcast_worker_packets_total", 'direction="incoming"')
        assert packets_in_1 > 0, "ICE checks of two participants reached the workers"
        assert total(first, "ringcast_worker_loop_turns_total") > 0

        # STUN consent checks keep flowing every few seconds.
        await asyncio.sleep(3.5)
        _, second_text = await scrape(port)
        second = samples(second_text)
        packets_in_2 = total(second, "ringcast_worker_packets_total", 'direction="incoming"')
        assert packets_in_2 > packets_in_1, (packets_in_1, packets_in_2)
        # livekit's own family agrees with the per-worker sum.
        lk_in = total(second, "livekit_packet_total", 'direction="incoming"')
        assert lk_in >= packets_in_2 > 0
        assert total(second, "livekit_packet_total", 'direction="outgoing"') > 0
        assert total(second, "ringcast_worker_transports") >= 2
        for name in (
            "ringcast_dropped_packets_total",
            "ringcast_events_dropped_total",
            "ringcast_ring_full_total",
            "ringcast_signal_malformed_total",
        ):
            assert name in second, f"{name} missing"
    finally:
        await alice.disconnect()
        await bob.disconnect()

    # Once both left, the participant gauge drops back.
    for _ in range(50):
        _, text = await scrape(port)
        if total(samples(text), "livekit_participant_total") == 0:
            break
        await asyncio.sleep(0.1)
    assert total(samples(text), "livekit_participant_total") == 0


async def test_malformed_signal_frames_are_counted(start_server):
    srv, port = start_with_metrics(start_server)
    _, text = await scrape(port)
    before = total(samples(text), "ringcast_signal_malformed_total")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{srv.ws_url}/rtc?access_token={token('mallory')}") as ws:
            await ws.send_bytes(b"\xff\xff\xff\xff not protobuf")
            await asyncio.sleep(0.5)
    for _ in range(20):
        _, text = await scrape(port)
        if total(samples(text), "ringcast_signal_malformed_total") > before:
            break
        await asyncio.sleep(0.1)
    assert total(samples(text), "ringcast_signal_malformed_total") > before


async def test_no_metrics_listener_without_prometheus_port(start_server):
    port = free_port()
    start_server()
    try:
        async with aiohttp.ClientSession() as http:
            await http.get(f"http://127.0.0.1:{port}/metrics", timeout=aiohttp.ClientTimeout(total=2))
        raise AssertionError("nothing should listen on an unconfigured metrics port")
    except aiohttp.ClientConnectorError:
        pass
