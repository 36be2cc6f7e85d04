"""Data channels between official Python `livekit` participants through
ringcast (LIVEKIT_PROTOCOL.md §5), on both signaling variants: reliable
order and completeness, sender attribution, destination filtering,
RoomService SendData, RPC, text streams, and the canPublishData grant."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from livekit import api, rtc

from support import DEV_KEY, DEV_SECRET
from test_connect import VARIANTS, token
from test_connect import server as server_on_each_driver  # noqa: F401  (fixture: io_uring and portable)

ROOM = "data-room"


async def join(server, identity: str, single_pc: bool, **grants) -> rtc.Room:
    r = rtc.Room()
    opts = rtc.RoomOptions(auto_subscribe=True, single_peer_connection=single_pc, connect_timeout=15)
    await asyncio.wait_for(r.connect(server.ws_url, token(identity, ROOM, **grants), opts), 25)
    return r


def post_send_data_json(base_url: str, body: dict) -> tuple:
    """POSTs RoomService/SendData as Twirp JSON; returns (status, body)."""
    jwt = (
        api.AccessToken(DEV_KEY, DEV_SECRET)
        .with_grants(api.VideoGrants(room_admin=True, room=ROOM))
        .to_jwt()
    )
    req = urllib.request.Request(
        f"{base_url}/twirp/livekit.RoomService/SendData",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {jwt}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def collect(room: rtc.Room) -> asyncio.Queue:
    """Every `data_received` of `room`, as (payload, sender identity or None, topic)."""
    q: asyncio.Queue = asyncio.Queue()

    @room.on("data_received")
    def _on_data(pkt: rtc.DataPacket):
        q.put_nowait((pkt.data, pkt.participant.identity if pkt.participant else None, pkt.topic))

    return q


async def wait_sees(room: rtc.Room, *identities: str, timeout: float = 10) -> None:
    """Waits until `room` knows every participant in `identities`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not set(identities) <= {p.identity for p in room.remote_participants.values()}:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never saw {identities}")
        await asyncio.sleep(0.05)


async def send_until_received(sender: rtc.Room, inbox: asyncio.Queue, payload: bytes, **kw) -> tuple:
    """The first packet can race the receiver's data channel opening; send
    a probe until one arrives, then drain the duplicates."""
    for _ in range(50):
        await sender.local_participant.publish_data(payload, **kw)
        try:
            got = await asyncio.wait_for(inbox.get(), 0.3)
        except asyncio.TimeoutError:
            continue
        await asyncio.sleep(0.3)
        while not inbox.empty():
            inbox.get_nowait()
        return got
    raise AssertionError("probe never arrived")


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_300_reliable_messages_arrive_complete_in_order_with_the_sender(server_on_each_driver, single_pc):
    server = server_on_each_driver
    alice = await join(server, "alice", single_pc)
    bob = await join(server, "bob", single_pc)
    try:
        inbox = collect(bob)
        await wait_sees(alice, "bob")
        probe = await send_until_received(alice, inbox, b"probe", topic="probe")
        assert probe == (b"probe", "alice", "probe")

        for i in range(300):
            await alice.local_participant.publish_data(f"msg-{i:03}".encode(), reliable=True, topic="seq")
        got = []
        while len(got) < 300:
            data, sender, topic = await asyncio.wait_for(inbox.get(), 15)
            if topic == "probe":
                continue  # a late duplicate of the warm-up probe
            assert sender == "alice" and topic == "seq"
            got.append(data)
        assert got == [f"msg-{i:03}".encode() for i in range(300)]

        # Nothing echoes back to the sender; the other direction works too.
        back = collect(alice)
        await bob.local_participant.publish_data(b"pong", topic="back")
        assert await asyncio.wait_for(back.get(), 10) == (b"pong", "bob", "back")
        await asyncio.sleep(0.3)
        assert inbox.empty(), "the sender got its own packet back"
    finally:
        await alice.disconnect()
        await bob.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_destination_identities_reach_carol_and_not_dave(server, single_pc):
    alice = await join(server, "alice", single_pc)
    carol = await join(server, "carol", single_pc)
    dave = await join(server, "dave", single_pc)
    try:
        to_carol, to_dave = collect(carol), collect(dave)
        await wait_sees(alice, "carol", "dave")
        # Warm both channels (broadcast) so a missing packet means filtering.
        for inbox in (to_carol, to_dave):
            await send_until_received(alice, inbox, b"warm")
        for inbox in (to_carol, to_dave):
            while not inbox.empty():
                inbox.get_nowait()
        await alice.local_participant.publish_data(b"for carol", destination_identities=["carol"], topic="dm")
        assert await asyncio.wait_for(to_carol.get(), 10) == (b"for carol", "alice", "dm")
        await alice.local_participant.publish_data(b"everyone", topic="all")
        assert await asyncio.wait_for(to_dave.get(), 10) == (b"everyone", "alice", "all")
        assert await asyncio.wait_for(to_carol.get(), 10) == (b"everyone", "alice", "all")
        assert to_dave.empty(), "dave got carol's message"
    finally:
        for r in (alice, carol, dave):
            await r.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_room_service_send_data_arrives_without_a_sender(server, single_pc):
    bob = await join(server, "bob", single_pc)
    carol = await join(server, "carol", single_pc)
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        to_bob, to_carol = collect(bob), collect(carol)
        # The first sends can race the receivers' channels opening: repeat
        # until both have one, then drain the repeats.
        got: dict = {}
        for _ in range(30):
            await lk.room.send_data(
                api.SendDataRequest(room=ROOM, data=b"from server", kind=api.DataPacket.Kind.RELIABLE, topic="srv")
            )
            await asyncio.sleep(0.3)
            for name, q in (("bob", to_bob), ("carol", to_carol)):
                while not q.empty():
                    got[name] = q.get_nowait()
            if len(got) == 2:
                break
        assert got == {"bob": (b"from server", None, "srv"), "carol": (b"from server", None, "srv")}
        await asyncio.sleep(0.5)
        for q in (to_bob, to_carol):
            while not q.empty():
                q.get_nowait()

        await lk.room.send_data(
            api.SendDataRequest(room=ROOM, data=b"just carol", destination_identities=["carol"], topic="srv")
        )
        assert await asyncio.wait_for(to_carol.get(), 10) == (b"just carol", None, "srv")
        await asyncio.sleep(0.5)
        assert to_bob.empty()

        # livekit-api always sends a 16-byte nonce; post a bad one by hand.
        status, body = await asyncio.to_thread(post_send_data_json, server.url, {"room": ROOM, "data": "eA==", "nonce": "c2hvcnQ="})
        assert status == 400 and json.loads(body)["code"] == "invalid_argument"
    finally:
        await lk.aclose()
        await bob.disconnect()
        await carol.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_perform_rpc_returns_the_handlers_answer(server, single_pc):
    alice = await join(server, "alice", single_pc)
    bob = await join(server, "bob", single_pc)
    try:
        calls = []

        @bob.local_participant.register_rpc_method("greet")
        async def _greet(data: rtc.RpcInvocationData) -> str:
            calls.append((data.caller_identity, data.payload))
            return f"hello {data.payload}, from bob"

        await wait_sees(alice, "bob")
        await wait_sees(bob, "alice")
        answer = None
        for _ in range(10):
            try:
                answer = await alice.local_participant.perform_rpc(
                    destination_identity="bob", method="greet", payload="alice", response_timeout=5
                )
                break
            except rtc.RpcError as e:
                # The very first request can race the data channels opening.
                if e.code not in (rtc.RpcError.ErrorCode.CONNECTION_TIMEOUT, rtc.RpcError.ErrorCode.RESPONSE_TIMEOUT):
                    raise
        assert answer == "hello alice, from bob"
        assert ("alice", "alice") in calls
    finally:
        await alice.disconnect()
        await bob.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_send_text_arrives_whole_through_a_text_stream_handler(server, single_pc):
    alice = await join(server, "alice", single_pc)
    bob = await join(server, "bob", single_pc)
    try:
        received: asyncio.Queue = asyncio.Queue()

        def _on_text(reader: rtc.TextStreamReader, sender: str):
            async def _read():
                received.put_nowait((await reader.read_all(), sender))

            asyncio.ensure_future(_read())

        bob.register_text_stream_handler("notes", _on_text)
        await wait_sees(alice, "bob")
        inbox = collect(bob)
        await send_until_received(alice, inbox, b"warm")
        # Long enough to be cut into several chunks.
        text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(800))
        await alice.local_participant.send_text(text, topic="notes")
        got, sender = await asyncio.wait_for(received.get(), 15)
        assert sender == "alice"
        assert got == text
    finally:
        await alice.disconnect()
        await bob.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_a_participant_without_can_publish_data_cannot_deliver(server, single_pc):
    mute = await join(server, "mute", single_pc, can_publish_data=False)
    bob = await join(server, "bob", single_pc)
    alice = await join(server, "alice", single_pc)
    try:
        inbox = collect(bob)
        await wait_sees(mute, "bob")
        await wait_sees(alice, "bob")
        # A permitted sender gets through on the same path...
        await send_until_received(alice, inbox, b"allowed")
        # ...the one without canPublishData never does.
        for _ in range(10):
            try:
                await mute.local_participant.publish_data(b"forbidden", topic="x")
            except Exception:
                pass  # an SDK may refuse locally; either way nothing may arrive
        await asyncio.sleep(1.5)
        while not inbox.empty():
            data, sender, _ = inbox.get_nowait()
            assert sender != "mute" and data != b"forbidden"
    finally:
        for r in (mute, bob, alice):
            await r.disconnect()


async def test_metrics_count_data_in_out_and_refusals(start_server):
    from test_metrics import samples, scrape, start_with_metrics, total

    srv, port = start_with_metrics(start_server)
    alice = await join(srv, "alice", True)
    bob = await join(srv, "bob", True)
    mute = await join(srv, "mute", True, can_publish_data=False)
    try:
        inbox = collect(bob)
        await wait_sees(alice, "bob")
        await send_until_received(alice, inbox, b"counted")
        for _ in range(3):
            try:
                await mute.local_participant.publish_data(b"forbidden")
            except Exception:
                pass
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            s = samples((await scrape(port))[1])
            refused = total(s, "ringcast_data_packets_dropped_total", 'reason="no_permission"')
            if refused > 0 or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
        assert total(s, "ringcast_data_packets_total", 'direction="in"') >= 2
        assert total(s, "ringcast_data_packets_total", 'direction="out"') >= 1
        assert total(s, "ringcast_data_bytes_total", 'direction="in"') > 0
        assert refused > 0, "the refused sender was not counted"
        assert "ringcast_data_ring_full_total" in s
    finally:
        for r in (alice, bob, mute):
            await r.disconnect()
