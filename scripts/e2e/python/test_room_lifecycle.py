"""Rooms close themselves and slow webhook receivers slow nothing:
empty/departure timeouts remove rooms from ListRooms, and a webhook URL
that accepts connections but never answers does not delay a join."""

from __future__ import annotations

import asyncio
import socket
import time

from livekit import api

from support import DEV_KEY, DEV_SECRET
from test_connect import connect


async def room_names(lk: api.LiveKitAPI) -> list[str]:
    return [r.name for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms]


async def wait_gone(lk: api.LiveKitAPI, name: str, within: float) -> float:
    start = time.monotonic()
    while name in await room_names(lk):
        assert time.monotonic() - start < within, f"{name} still listed after {within}s"
        await asyncio.sleep(0.2)
    return time.monotonic() - start


async def test_never_joined_room_closes_after_empty_timeout(server):
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        await lk.room.create_room(api.CreateRoomRequest(name="idle", empty_timeout=2))
        assert "idle" in await room_names(lk)
        took = await wait_gone(lk, "idle", 6)
        assert took >= 1.0, "not before its timeout"
    finally:
        await lk.aclose()


async def test_room_closes_a_few_seconds_after_its_last_participant_leaves(server):
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        await lk.room.create_room(api.CreateRoomRequest(name="connect-room", empty_timeout=2, departure_timeout=2))
        alice = await connect(server, "alice", True)
        await asyncio.sleep(3)
        assert "connect-room" in await room_names(lk), "an occupied room stays open"
        await alice.disconnect()
        await wait_gone(lk, "connect-room", 6)
    finally:
        await lk.aclose()


async def test_a_webhook_receiver_that_never_answers_does_not_slow_a_join(start_server):
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    try:
        body = f"webhook:\n  api_key: {DEV_KEY}\n  urls:\n    - http://127.0.0.1:{port}/hook\n"
        server = start_server(args=["--config-body", body])
        start = time.monotonic()
        alice = await connect(server, "alice", True)
        bob = await connect(server, "bob", False)
        took = time.monotonic() - start
        assert took < 5, f"two joins took {took:.1f}s with a silent webhook receiver"
        await alice.disconnect()
        await bob.disconnect()
    finally:
        silent.close()
