"""Participant metadata, name and attributes set by an official SDK
participant reach the others as SDK events; without canUpdateOwnMetadata
the call is refused. RoomService UpdateParticipant does the same from the
server side."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api, rtc

from support import DEV_KEY, DEV_SECRET
from test_connect import VARIANTS

ROOM = "meta-room"


def token(identity: str, can_update: bool) -> str:
    return (
        api.AccessToken(DEV_KEY, DEV_SECRET)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=ROOM, can_update_own_metadata=can_update))
        .to_jwt()
    )


async def join(server, identity: str, can_update: bool, single_pc: bool) -> rtc.Room:
    r = rtc.Room()
    opts = rtc.RoomOptions(single_peer_connection=single_pc, connect_timeout=15)
    await asyncio.wait_for(r.connect(server.ws_url, token(identity, can_update), opts), 25)
    return r


def future_of(room: rtc.Room, event: str, pick) -> asyncio.Future:
    fut = asyncio.get_running_loop().create_future()

    @room.on(event)
    def _h(*args):
        if not fut.done():
            fut.set_result(pick(*args))

    return fut


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_own_metadata_name_and_attributes_reach_others(server, single_pc):
    alice = await join(server, "alice", True, single_pc)
    bob = await join(server, "bob", False, single_pc)
    meta = future_of(bob, "participant_metadata_changed", lambda p, old, new: (p.identity, new))
    name = future_of(bob, "participant_name_changed", lambda p, old, new: (p.identity, new))
    attrs = future_of(bob, "participant_attributes_changed", lambda changed, p: (p.identity, dict(changed)))

    await asyncio.wait_for(alice.local_participant.set_metadata("hello"), 10)
    assert await asyncio.wait_for(meta, 10) == ("alice", "hello")
    await asyncio.wait_for(alice.local_participant.set_name("Alice A."), 10)
    assert await asyncio.wait_for(name, 10) == ("alice", "Alice A.")
    await asyncio.wait_for(alice.local_participant.set_attributes({"role": "host"}), 10)
    assert await asyncio.wait_for(attrs, 10) == ("alice", {"role": "host"})

    # bob may not: the server answers NOT_ALLOWED (the Python wrapper returns
    # without raising; the Rust core gets the refusal instead of a 5 s
    # timeout) and nobody sees a change.
    refused = future_of(alice, "participant_metadata_changed", lambda p, old, new: (p.identity, new))
    await asyncio.wait_for(bob.local_participant.set_metadata("nope"), 4)
    await asyncio.sleep(1.0)
    assert not refused.done(), "a refused update must not reach others"
    remote_bob = alice.remote_participants.get("bob")
    assert remote_bob is not None and remote_bob.metadata == ""
    await bob.disconnect()
    await alice.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_room_service_update_participant_reaches_everyone(server, single_pc):
    alice = await join(server, "alice", False, single_pc)
    bob = await join(server, "bob", False, single_pc)
    seen_by_bob = future_of(bob, "participant_metadata_changed", lambda p, old, new: (p.identity, new))
    own = future_of(alice, "participant_metadata_changed", lambda p, old, new: (p.identity, new))
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        info = await lk.room.update_participant(
            api.UpdateParticipantRequest(room=ROOM, identity="alice", metadata="from-server", name="Ally")
        )
        assert info.metadata == "from-server" and info.name == "Ally"
        assert await asyncio.wait_for(seen_by_bob, 10) == ("alice", "from-server")
        assert await asyncio.wait_for(own, 10) == ("alice", "from-server")
    finally:
        await lk.aclose()
        await bob.disconnect()
        await alice.disconnect()
