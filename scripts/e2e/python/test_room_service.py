"""RoomService over Twirp with protobuf bodies, driven by the official
`livekit-api` Python SDK against `ringcast --dev`."""

from __future__ import annotations

import time

import pytest
from livekit import api

from support import DEV_KEY, DEV_SECRET


def lkapi(server) -> api.LiveKitAPI:
    return api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)


async def room_names(lk: api.LiveKitAPI, names=None) -> list[str]:
    resp = await lk.room.list_rooms(api.ListRoomsRequest(names=names or []))
    return sorted(r.name for r in resp.rooms)


async def test_create_room_returns_the_requested_settings(server):
    before = int(time.time())
    async with lkapi(server) as lk:
        room = await lk.room.create_room(
            api.CreateRoomRequest(
                name="alpha", empty_timeout=123, max_participants=7, metadata="hello"
            )
        )
    assert room.name == "alpha"
    assert room.sid.startswith("RM_") and len(room.sid) > 3
    assert room.empty_timeout == 123
    assert room.max_participants == 7
    assert room.metadata == "hello"
    assert room.num_participants == 0
    # creation_time is Unix seconds in LiveKit.
    assert room.creation_time > 0
    assert before - 5 <= room.creation_time <= int(time.time()) + 5


async def test_create_room_twice_returns_the_same_room(server):
    async with lkapi(server) as lk:
        first = await lk.room.create_room(api.CreateRoomRequest(name="twice"))
        second = await lk.room.create_room(api.CreateRoomRequest(name="twice"))
        assert await room_names(lk) == ["twice"]
    assert second.sid == first.sid


async def test_list_rooms_without_names_returns_every_room(server):
    async with lkapi(server) as lk:
        assert await room_names(lk) == []
        sids = set()
        for name in ("r-a", "r-b", "r-c"):
            sids.add((await lk.room.create_room(api.CreateRoomRequest(name=name))).sid)
        resp = await lk.room.list_rooms(api.ListRoomsRequest())
    assert sorted(r.name for r in resp.rooms) == ["r-a", "r-b", "r-c"]
    assert {r.sid for r in resp.rooms} == sids
    assert len(sids) == 3, "every room has its own sid"


async def test_list_rooms_by_name_returns_only_those_rooms(server):
    async with lkapi(server) as lk:
        for name in ("one", "two", "three"):
            await lk.room.create_room(api.CreateRoomRequest(name=name))
        assert await room_names(lk, ["two"]) == ["two"]
        assert await room_names(lk, ["one", "three"]) == ["one", "three"]
        assert await room_names(lk, ["nope"]) == []
        assert await room_names(lk, ["two", "nope"]) == ["two"]


async def test_get_room_by_name_keeps_the_created_fields(server):
    async with lkapi(server) as lk:
        created = await lk.room.create_room(
            api.CreateRoomRequest(
                name="getme", empty_timeout=45, max_participants=3, metadata="md"
            )
        )
        resp = await lk.room.list_rooms(api.ListRoomsRequest(names=["getme"]))
    assert len(resp.rooms) == 1
    room = resp.rooms[0]
    assert room.sid == created.sid
    assert room.name == "getme"
    assert room.empty_timeout == 45
    assert room.max_participants == 3
    assert room.metadata == "md"
    assert room.creation_time == created.creation_time


async def test_update_room_metadata_is_returned_and_listed(server):
    async with lkapi(server) as lk:
        created = await lk.room.create_room(api.CreateRoomRequest(name="meta", metadata="v1"))
        updated = await lk.room.update_room_metadata(
            api.UpdateRoomMetadataRequest(room="meta", metadata="v2 ✓")
        )
        assert updated.name == "meta"
        assert updated.sid == created.sid
        assert updated.metadata == "v2 ✓"
        listed = await lk.room.list_rooms(api.ListRoomsRequest(names=["meta"]))
    assert [r.metadata for r in listed.rooms] == ["v2 ✓"]


async def test_update_metadata_of_missing_room_is_not_found(server):
    async with lkapi(server) as lk:
        with pytest.raises(api.TwirpError) as info:
            await lk.room.update_room_metadata(
                api.UpdateRoomMetadataRequest(room="ghost", metadata="x")
            )
    assert info.value.status == 404
    assert info.value.code == "not_found"


async def test_delete_room_removes_it_from_the_list(server):
    async with lkapi(server) as lk:
        await lk.room.create_room(api.CreateRoomRequest(name="keep"))
        await lk.room.create_room(api.CreateRoomRequest(name="drop"))
        await lk.room.delete_room(api.DeleteRoomRequest(room="drop"))
        assert await room_names(lk) == ["keep"]
        assert await room_names(lk, ["drop"]) == []


async def test_delete_missing_room_is_not_found(server):
    async with lkapi(server) as lk:
        with pytest.raises(api.TwirpError) as info:
            await lk.room.delete_room(api.DeleteRoomRequest(room="ghost"))
    assert info.value.status == 404
    assert info.value.code == "not_found"


async def test_recreated_room_gets_a_new_sid(server):
    async with lkapi(server) as lk:
        first = await lk.room.create_room(api.CreateRoomRequest(name="phoenix"))
        await lk.room.delete_room(api.DeleteRoomRequest(room="phoenix"))
        second = await lk.room.create_room(api.CreateRoomRequest(name="phoenix"))
    assert second.sid.startswith("RM_")
    assert second.sid != first.sid
