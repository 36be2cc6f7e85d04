"""Subscribing, proven by the official Python `livekit` SDK on both signaling
variants: a participant that publishes a microphone and a camera is
subscribed by the others (`track_subscribed` with the right track sid, kind
and publisher identity), also by a late joiner; a `canSubscribe=false`
participant sees the publications but never subscribes; unpublishing ends
the subscriptions (`track_unsubscribed`); `set_subscribed(False/True)`
unsubscribes and subscribes again through the server.

`track_subscribed` fires from the SDP alone (the m-line with our msid and
`mid_to_track_id`), so nothing here asserts on decoded media."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from livekit import rtc

from test_connect import VARIANTS, token

ROOM = "subscribe-room"
SAMPLE_RATE = 48000
WIDTH, HEIGHT = 320, 240


async def join(server, identity: str, single_pc: bool, **grants) -> tuple[rtc.Room, "Recorder"]:
    """Connects; events are recorded from before the connect, since a late
    joiner's subscriptions arrive with its first negotiation."""
    room = rtc.Room()
    events = Recorder(room)
    opts = rtc.RoomOptions(auto_subscribe=True, single_peer_connection=single_pc, connect_timeout=15)
    await asyncio.wait_for(room.connect(server.ws_url, token(identity, ROOM, **grants), opts), 25)
    return room, events


class Recorder:
    """Collects a room's subscription events; waiters resolve on a match."""

    def __init__(self, room: rtc.Room):
        self.subscribed: list[tuple[str, str, int]] = []
        self.unsubscribed: list[tuple[str, str, int]] = []
        self._changed = asyncio.Event()

        @room.on("track_subscribed")
        def _s(track: rtc.Track, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant):
            assert track.sid == pub.sid
            self.subscribed.append((p.identity, pub.sid, pub.kind))
            self._changed.set()

        @room.on("track_unsubscribed")
        def _u(track: rtc.Track, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant):
            self.unsubscribed.append((p.identity, pub.sid, pub.kind))
            self._changed.set()

    async def until(self, cond, timeout: float = 15) -> None:
        async def loop():
            while not cond():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)


class Publisher:
    """A microphone and a camera fed with synthetic frames."""

    def __init__(self, room: rtc.Room):
        self.room = room
        self.stop = asyncio.Event()
        self.audio = rtc.AudioSource(SAMPLE_RATE, 1)
        self.video = rtc.VideoSource(WIDTH, HEIGHT)
        self.tasks = [asyncio.create_task(self._tone()), asyncio.create_task(self._frames())]

    async def _tone(self) -> None:
        t, n = 0, SAMPLE_RATE // 100
        while not self.stop.is_set():
            s = (np.sin(2 * np.pi * 440 * (np.arange(n) + t) / SAMPLE_RATE) * 8000).astype(np.int16)
            t += n
            await self.audio.capture_frame(rtc.AudioFrame(s.tobytes(), SAMPLE_RATE, 1, n))

    async def _frames(self) -> None:
        i = 0
        while not self.stop.is_set():
            data = bytearray([(i * 7) % 256, 64, 128, 255]) * (WIDTH * HEIGHT)
            self.video.capture_frame(rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, data))
            i += 1
            await asyncio.sleep(1 / 15)

    async def publish(self) -> tuple[str, str]:
        lp = self.room.local_participant
        mic = rtc.LocalAudioTrack.create_audio_track("mic", self.audio)
        cam = rtc.LocalVideoTrack.create_video_track("cam", self.video)
        a = await asyncio.wait_for(
            lp.publish_track(mic, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)), 15
        )
        v = await asyncio.wait_for(
            lp.publish_track(cam, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA)), 15
        )
        return a.sid, v.sid

    async def close(self) -> None:
        self.stop.set()
        for t in self.tasks:
            await t


AUDIO, VIDEO = rtc.TrackKind.KIND_AUDIO, rtc.TrackKind.KIND_VIDEO


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_others_and_late_joiner_subscribe_and_unpublish_unsubscribes(server, single_pc):
    alice, _ = await join(server, "alice", single_pc)
    bob, bob_events = await join(server, "bob", single_pc)
    local_subscribed = []
    alice.on("local_track_subscribed", lambda track: local_subscribed.append(track.sid))
    pub = Publisher(alice)
    try:
        mic, cam = await pub.publish()
        want = {("alice", mic, AUDIO), ("alice", cam, VIDEO)}
        await bob_events.until(lambda: want <= set(bob_events.subscribed))
        assert len(bob_events.subscribed) == 2, bob_events.subscribed

        # The publisher hears once per track that someone subscribed.
        for _ in range(100):
            if {mic, cam} <= set(local_subscribed):
                break
            await asyncio.sleep(0.1)
        assert {mic, cam} <= set(local_subscribed), local_subscribed

        # A late joiner is subscribed to what is already published.
        carol, carol_events = await join(server, "carol", single_pc)
        await carol_events.until(lambda: want <= set(carol_events.subscribed))
        remote = carol.remote_participants["alice"].track_publications
        assert remote[mic].subscribed and remote[cam].subscribed

        # Unpublishing ends every subscription to the track.
        await asyncio.wait_for(alice.local_participant.unpublish_track(cam), 15)
        gone = ("alice", cam, VIDEO)
        await bob_events.until(lambda: gone in bob_events.unsubscribed)
        await carol_events.until(lambda: gone in carol_events.unsubscribed)
        assert ("alice", mic, AUDIO) not in bob_events.unsubscribed
        await carol.disconnect()
    finally:
        await pub.close()
    await alice.disconnect()
    await bob.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_participant_without_can_subscribe_never_subscribes(server, single_pc):
    alice, _ = await join(server, "alice", single_pc)
    dave, dave_events = await join(server, "dave", single_pc, can_subscribe=False)
    erin, erin_events = await join(server, "erin", single_pc)
    published = []
    dave.on("track_published", lambda pub, p: published.append(pub.sid))
    pub = Publisher(alice)
    try:
        mic, cam = await pub.publish()
        want = {("alice", mic, AUDIO), ("alice", cam, VIDEO)}
        # erin (allowed) subscribes: by then dave would have too.
        await erin_events.until(lambda: want <= set(erin_events.subscribed))
        await asyncio.sleep(1.5)
        assert sorted(published) == sorted([mic, cam]), "dave still sees the publications"
        assert dave_events.subscribed == []
        # Asking by hand does not help either.
        dave.remote_participants["alice"].track_publications[mic].set_subscribed(True)
        await asyncio.sleep(1.5)
        assert dave_events.subscribed == []
    finally:
        await pub.close()
    for r in (alice, dave, erin):
        await r.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_set_subscribed_false_then_true_resubscribes(server, single_pc):
    alice, _ = await join(server, "alice", single_pc)
    bob, bob_events = await join(server, "bob", single_pc)
    pub = Publisher(alice)
    try:
        mic, cam = await pub.publish()
        want = {("alice", mic, AUDIO), ("alice", cam, VIDEO)}
        await bob_events.until(lambda: want <= set(bob_events.subscribed))

        publication = bob.remote_participants["alice"].track_publications[cam]
        publication.set_subscribed(False)
        await bob_events.until(lambda: ("alice", cam, VIDEO) in bob_events.unsubscribed)
        assert not publication.subscribed
        # Let the server's renegotiation (m-line inactive) settle.
        await asyncio.sleep(1.0)

        before = bob_events.subscribed.count(("alice", cam, VIDEO))
        publication.set_subscribed(True)
        await bob_events.until(lambda: bob_events.subscribed.count(("alice", cam, VIDEO)) > before)
        assert publication.subscribed
        assert publication.track is not None and publication.track.sid == cam
        # The other track was never touched.
        assert ("alice", mic, AUDIO) not in bob_events.unsubscribed
    finally:
        await pub.close()
    await alice.disconnect()
    await bob.disconnect()
