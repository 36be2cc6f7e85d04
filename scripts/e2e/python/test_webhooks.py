"""Webhooks from ringcast, checked with the official `livekit-api`
`WebhookReceiver` (JWT from the webhook key, `sha256` of the body): a Python
`livekit.rtc` participant joins and leaves, RoomService creates and deletes
rooms, and the receiver sees LiveKit's events in order."""

from __future__ import annotations

import asyncio
from typing import Optional

import pytest
from aiohttp import web
from livekit import api, rtc
from livekit.protocol import models

from conftest import free_port
from support import DEV_KEY, DEV_SECRET
from test_connect import VARIANTS, token

ROOM = "webhook-room"


class HookReceiver:
    """An aiohttp server that verifies each delivery like a LiveKit app."""

    def __init__(self, key: str = DEV_KEY, secret: str = DEV_SECRET):
        self.receiver = api.WebhookReceiver(api.TokenVerifier(key, secret))
        self.events: list = []
        self.errors: list[str] = []
        self.headers: list[dict] = []
        self.changed = asyncio.Event()
        self.port = free_port()
        self.runner: Optional[web.AppRunner] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        auth = request.headers.get("Authorization", "")
        self.headers.append(dict(request.headers))
        try:
            self.events.append(self.receiver.receive(body, auth))
        except Exception as e:  # the receiver raises plain Exceptions
            self.errors.append(f"{type(e).__name__}: {e}")
            self.changed.set()
            return web.Response(status=401)
        self.changed.set()
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def names(self) -> list[str]:
        return [e.event for e in self.events]

    async def wait_for(self, name: str, timeout: float = 15):
        async def loop():
            while True:
                for e in self.events:
                    if e.event == name:
                        return e
                assert not self.errors, self.errors
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(loop(), timeout)


def webhook_config(url: str, extra: str = "") -> list:
    body = f"webhook:\n  api_key: {DEV_KEY}\n  urls:\n    - {url}\n" + extra
    return ["--config-body", body]


@pytest.fixture
async def hooks():
    r = HookReceiver()
    await r.start()
    yield r
    await r.stop()


async def join(server, identity: str, single_pc: bool = True) -> rtc.Room:
    room = rtc.Room()
    opts = rtc.RoomOptions(auto_subscribe=True, single_peer_connection=single_pc, connect_timeout=15)
    await asyncio.wait_for(room.connect(server.ws_url, token(identity, ROOM), opts), 25)
    return room


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_participant_join_and_leave_fire_webhooks_in_order(start_server, hooks, single_pc):
    server = start_server(args=webhook_config(hooks.url, "room:\n  departure_timeout: 1\n"))
    room = await join(server, "alice", single_pc)
    sid = room.local_participant.sid
    joined = await hooks.wait_for("participant_joined")
    await room.disconnect()
    left = await hooks.wait_for("participant_left")
    finished = await hooks.wait_for("room_finished")

    assert not hooks.errors, hooks.errors
    assert hooks.names() == [
        "room_started",
        "participant_joined",
        "participant_left",
        "room_finished",
    ]
    started = hooks.events[0]
    assert started.room.name == ROOM
    assert started.room.sid.startswith("RM_")
    for e in (joined, left, finished):
        assert e.room.sid == started.room.sid
        assert e.room.name == ROOM
    for e in (joined, left):
        assert e.participant.identity == "alice"
        assert e.participant.sid == sid
    assert joined.participant.state == models.ParticipantInfo.ACTIVE
    assert left.participant.state == models.ParticipantInfo.DISCONNECTED
    assert finished.room_end_reason == models.RoomEndReason.ROOM_END_IDLE_TIMEOUT
    ids = [e.id for e in hooks.events]
    assert all(i.startswith("EV_") for i in ids) and len(set(ids)) == len(ids)
    assert all(e.created_at > 1_600_000_000 for e in hooks.events)
    for h in hooks.headers:
        assert h["Content-Type"] == "application/webhook+json"
        assert h["User-Agent"] == "LiveKit"
        assert not h["Authorization"].startswith("Bearer")


async def test_remove_participant_and_delete_room_send_left_then_finished(start_server, hooks):
    server = start_server(args=webhook_config(hooks.url))
    alice = await join(server, "alice")
    bob = await join(server, "bob")
    await hooks.wait_for("participant_joined")
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        await lk.room.remove_participant(api.RoomParticipantIdentity(room=ROOM, identity="bob"))
        left = await hooks.wait_for("participant_left")
        assert left.participant.identity == "bob"
        await lk.room.delete_room(api.DeleteRoomRequest(room=ROOM))
        finished = await hooks.wait_for("room_finished")
    finally:
        await lk.aclose()
        await alice.disconnect()
        await bob.disconnect()
    assert finished.room_end_reason == models.RoomEndReason.ROOM_END_API_DELETE
    names = hooks.names()
    assert names.count("participant_joined") == 2, names
    assert names.count("participant_left") == 2, names
    # Everyone has left before the room is reported finished.
    assert names[-1] == "room_finished" and names[0] == "room_started", names
    departed = [e.participant.identity for e in hooks.events if e.event == "participant_left"]
    assert departed == ["bob", "alice"]


async def test_room_service_create_and_delete_fire_room_events(start_server, hooks):
    server = start_server(args=webhook_config(hooks.url))
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        created = await lk.room.create_room(api.CreateRoomRequest(name="made-by-api"))
        started = await hooks.wait_for("room_started")
        await lk.room.delete_room(api.DeleteRoomRequest(room="made-by-api"))
        finished = await hooks.wait_for("room_finished")
    finally:
        await lk.aclose()
    assert started.room.sid == created.sid
    assert finished.room.sid == created.sid
    assert finished.room_end_reason == models.RoomEndReason.ROOM_END_API_DELETE
    assert hooks.names() == ["room_started", "room_finished"]


async def test_receiver_with_the_wrong_secret_rejects_the_delivery(start_server):
    wrong = HookReceiver(secret="not-the-secret")
    await wrong.start()
    try:
        server = start_server(args=webhook_config(wrong.url))
        lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
        try:
            await lk.room.create_room(api.CreateRoomRequest(name="x"))
        finally:
            await lk.aclose()
        await asyncio.wait_for(wrong.changed.wait(), 10)
        assert wrong.errors and not wrong.events
    finally:
        await wrong.stop()
