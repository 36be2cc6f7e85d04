"""More ways official Python participants join: hidden participants,
subscribe-less and publish-less grants, a crowd, rooms kept apart, and a
rejoin after leaving."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api, rtc

from support import DEV_KEY, DEV_SECRET
from test_connect import VARIANTS


def token(identity: str, room: str, **grants) -> str:
    return (
        api.AccessToken(DEV_KEY, DEV_SECRET)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room, **grants))
        .to_jwt()
    )


async def join(server, identity: str, room: str, single_pc: bool, **grants) -> rtc.Room:
    r = rtc.Room()
    opts = rtc.RoomOptions(single_peer_connection=single_pc, connect_timeout=15)
    await asyncio.wait_for(r.connect(server.ws_url, token(identity, room, **grants), opts), 25)
    assert r.connection_state == rtc.ConnectionState.CONN_CONNECTED
    return r


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_hidden_participant_is_not_shown_to_others(server, single_pc):
    alice = await join(server, "alice", "hid", single_pc)
    ghost = await join(server, "ghost", "hid", single_pc, hidden=True)
    bob = await join(server, "bob", "hid", single_pc)
    await asyncio.sleep(0.5)
    assert sorted(alice.remote_participants) == ["bob"]
    assert sorted(bob.remote_participants) == ["alice"]
    assert sorted(ghost.remote_participants) == ["alice", "bob"]
    for r in (alice, ghost, bob):
        await r.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_grants_without_subscribe_or_publish_still_connect(server, single_pc):
    viewer = await join(server, "viewer", "grants", single_pc, can_publish=False, can_publish_data=False)
    sender = await join(server, "sender", "grants", single_pc, can_subscribe=False)
    await asyncio.sleep(0.3)
    assert "sender" in viewer.remote_participants
    assert "viewer" in sender.remote_participants
    await viewer.disconnect()
    await sender.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_six_participants_all_see_each_other(server, single_pc):
    names = [f"p{i}" for i in range(6)]
    rooms = []
    for n in names:
        rooms.append(await join(server, n, "crowd", single_pc))
    await asyncio.sleep(1.0)
    for n, r in zip(names, rooms):
        assert sorted(r.remote_participants) == sorted(set(names) - {n})
    for r in rooms:
        await r.disconnect()


async def test_rooms_are_kept_apart(server):
    a = await join(server, "alice", "room-a", True)
    b = await join(server, "bob", "room-b", False)
    await asyncio.sleep(0.3)
    assert len(a.remote_participants) == 0
    assert len(b.remote_participants) == 0
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        rooms = await lk.room.list_rooms(api.ListRoomsRequest())
        assert sorted(r.name for r in rooms.rooms) == ["room-a", "room-b"]
        assert all(r.num_participants == 1 for r in rooms.rooms)
    finally:
        await lk.aclose()
    await a.disconnect()
    await b.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_rejoin_after_leaving(server, single_pc):
    watcher = await join(server, "watcher", "again", single_pc)
    first = await join(server, "alice", "again", single_pc)
    sid1 = first.local_participant.sid
    await first.disconnect()
    await asyncio.sleep(0.3)
    second = await join(server, "alice", "again", single_pc)
    assert second.local_participant.sid != sid1
    await asyncio.sleep(0.3)
    remote = watcher.remote_participants.get("alice")
    assert remote is not None and remote.sid == second.local_participant.sid
    await second.disconnect()
    await watcher.disconnect()
