"""RoomService calls that act on connected participants, through the
official `livekit-api` against participants connected with `livekit` (both
signaling variants)."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api, rtc

from support import DEV_KEY, DEV_SECRET
from test_connect import VARIANTS, connect

ROOM = "connect-room"


async def wait_for(fut: asyncio.Future, timeout: float = 10):
    return await asyncio.wait_for(fut, timeout)


def on_disconnect(room: rtc.Room) -> asyncio.Future:
    fut = asyncio.get_running_loop().create_future()

    @room.on("disconnected")
    def _d(reason):
        if not fut.done():
            fut.set_result(reason)

    return fut


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_list_get_and_remove_participant(server, single_pc):
    alice = await connect(server, "alice", single_pc)
    bob = await connect(server, "bob", single_pc)
    bob_gone = on_disconnect(bob)
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room=ROOM))
        assert sorted(p.identity for p in listed.participants) == ["alice", "bob"]
        assert all(p.sid.startswith("PA_") for p in listed.participants)
        got = await lk.room.get_participant(api.RoomParticipantIdentity(room=ROOM, identity="bob"))
        assert got.identity == "bob" and got.name == "Bob"

        await lk.room.remove_participant(api.RoomParticipantIdentity(room=ROOM, identity="bob"))
        assert await wait_for(bob_gone) == rtc.DisconnectReason.PARTICIPANT_REMOVED
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room=ROOM))
        assert [p.identity for p in listed.participants] == ["alice"]
        with pytest.raises(api.TwirpError) as e:
            await lk.room.get_participant(api.RoomParticipantIdentity(room=ROOM, identity="bob"))
        assert e.value.code == "not_found"
    finally:
        await lk.aclose()
        await alice.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_delete_room_disconnects_everyone(server, single_pc):
    alice = await connect(server, "alice", single_pc)
    gone = on_disconnect(alice)
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        await lk.room.delete_room(api.DeleteRoomRequest(room=ROOM))
        assert await wait_for(gone) == rtc.DisconnectReason.ROOM_DELETED
        rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[ROOM]))
        assert len(rooms.rooms) == 0
    finally:
        await lk.aclose()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_room_metadata_update_reaches_participants(server, single_pc):
    alice = await connect(server, "alice", single_pc)
    changed = asyncio.get_running_loop().create_future()

    @alice.on("room_metadata_changed")
    def _m(old, new):
        if not changed.done():
            changed.set_result(new)

    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        await lk.room.update_room_metadata(api.UpdateRoomMetadataRequest(room=ROOM, metadata="topic: rust"))
        assert await wait_for(changed) == "topic: rust"
        assert alice.metadata == "topic: rust"
    finally:
        await lk.aclose()
        await alice.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_a_join_over_max_participants_is_refused(server, single_pc):
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        await lk.room.create_room(api.CreateRoomRequest(name=ROOM, max_participants=2))
        a = await connect(server, "alice", single_pc)
        b = await connect(server, "bob", single_pc)
        third = rtc.Room()
        with pytest.raises(Exception):
            opts = rtc.RoomOptions(single_peer_connection=single_pc, connect_timeout=5)
            from test_connect import token

            await asyncio.wait_for(third.connect(server.ws_url, token("carol", ROOM), opts), 20)
        assert third.connection_state != rtc.ConnectionState.CONN_CONNECTED
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room=ROOM))
        assert sorted(p.identity for p in listed.participants) == ["alice", "bob"]
        await a.disconnect()
        await b.disconnect()
    finally:
        await lk.aclose()
