"""Official Python `livekit` participants join a room on ringcast and reach
"connected" through our dataplane (ICE-lite + DTLS), on both signaling
variants: `/rtc/v1` (single PeerConnection, the SDK default) and `/rtc`
(`single_peer_connection=False`)."""

from __future__ import annotations

import asyncio
import time

import pytest
from livekit import api, rtc

from support import DEV_KEY, DEV_SECRET

VARIANTS = [
    pytest.param(True, id="rtc-v1-single-pc"),
    pytest.param(False, id="rtc-dual-pc"),
]

# Every test runs on both dataplane drivers: io_uring and the portable
# recvmmsg/sendmmsg one (DESIGN.md: "Tests run on both").
DRIVERS = ["io_uring", "portable"]


@pytest.fixture(params=DRIVERS)
def server(request, start_server):
    driver = request.param
    srv = start_server(args=["--config-body", f"dataplane:\n  driver: {driver}\n"])
    want = "Uring" if driver == "io_uring" else "Portable"
    # The log line proves which driver really runs the media.
    deadline = time.monotonic() + 5
    while f"driver={want}" not in srv.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"driver={want}" in srv.log(), "dataplane did not start with the requested driver"
    return srv


def token(identity: str, room: str = "connect-room", **grants) -> str:
    video = dict(room_join=True, room=room)
    video.update(grants)
    return (
        api.AccessToken(DEV_KEY, DEV_SECRET)
        .with_identity(identity)
        .with_name(identity.title())
        .with_grants(api.VideoGrants(**video))
        .to_jwt()
    )


async def connect(server, identity: str, single_pc: bool, room: str = "connect-room") -> rtc.Room:
    r = rtc.Room()
    opts = rtc.RoomOptions(auto_subscribe=True, single_peer_connection=single_pc, connect_timeout=15)
    await asyncio.wait_for(r.connect(server.ws_url, token(identity, room), opts), 25)
    return r


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_two_participants_see_each_other_arrive_and_leave(server, single_pc):
    alice = await connect(server, "alice", single_pc)
    assert alice.connection_state == rtc.ConnectionState.CONN_CONNECTED
    assert alice.local_participant.identity == "alice"
    assert alice.local_participant.sid.startswith("PA_")

    arrived: asyncio.Future = asyncio.get_running_loop().create_future()
    left: asyncio.Future = asyncio.get_running_loop().create_future()

    @alice.on("participant_connected")
    def _on_connected(p: rtc.RemoteParticipant):
        if not arrived.done():
            arrived.set_result(p.identity)

    @alice.on("participant_disconnected")
    def _on_disconnected(p: rtc.RemoteParticipant):
        if not left.done():
            left.set_result(p.identity)

    bob = await connect(server, "bob", single_pc)
    assert bob.connection_state == rtc.ConnectionState.CONN_CONNECTED
    # bob learns of alice from the JoinResponse.
    assert [p.identity for p in bob.remote_participants.values()] == ["alice"]
    assert await asyncio.wait_for(arrived, 10) == "bob"
    assert alice.remote_participants and list(alice.remote_participants.values())[0].name == "Bob"

    await bob.disconnect()
    assert await asyncio.wait_for(left, 10) == "bob"
    assert len(alice.remote_participants) == 0
    await alice.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_connection_needs_a_valid_token(server, single_pc):
    r = rtc.Room()
    bad = api.AccessToken(DEV_KEY, "not-the-secret").with_identity("mallory").with_grants(
        api.VideoGrants(room_join=True, room="connect-room")
    ).to_jwt()
    opts = rtc.RoomOptions(single_peer_connection=single_pc, connect_timeout=5)
    with pytest.raises(Exception):
        await asyncio.wait_for(r.connect(server.ws_url, bad, opts), 20)
    assert r.connection_state != rtc.ConnectionState.CONN_CONNECTED


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_an_expired_token_is_refused(server, single_pc):
    import datetime

    expired = (
        api.AccessToken(DEV_KEY, DEV_SECRET)
        .with_identity("late")
        .with_ttl(datetime.timedelta(seconds=-120))
        .with_grants(api.VideoGrants(room_join=True, room="connect-room"))
        .to_jwt()
    )
    r = rtc.Room()
    opts = rtc.RoomOptions(single_peer_connection=single_pc, connect_timeout=5)
    with pytest.raises(Exception):
        await asyncio.wait_for(r.connect(server.ws_url, expired, opts), 20)
    assert r.connection_state != rtc.ConnectionState.CONN_CONNECTED
    # Refused before any transport existed: the dataplane never saw a check.
    assert "participant joined" not in server.log()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_duplicate_identity_evicts_the_older_participant(server, single_pc):
    first = await connect(server, "carol", single_pc)
    gone: asyncio.Future = asyncio.get_running_loop().create_future()

    @first.on("disconnected")
    def _on_disconnected(reason):
        if not gone.done():
            gone.set_result(reason)

    second = await connect(server, "carol", single_pc)
    reason = await asyncio.wait_for(gone, 10)
    assert reason == rtc.DisconnectReason.DUPLICATE_IDENTITY
    assert second.connection_state == rtc.ConnectionState.CONN_CONNECTED
    await second.disconnect()
