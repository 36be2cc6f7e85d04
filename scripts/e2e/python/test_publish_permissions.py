"""Publish grants, judged by the official Python SDK on both signaling
variants: without canPublish a participant's publish_track fails and nobody
receives anything from it; with canPublishSources=["microphone"] the
microphone is published and a camera is refused."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api, rtc

from media_support import SAMPLE_RATE, publish_tone, record_audio, rms, solid_frame, wait_track
from support import DEV_KEY, DEV_SECRET
from test_connect import VARIANTS, connect, token

ROOM = "connect-room"


async def connect_with(server, identity: str, single_pc: bool, **grants) -> rtc.Room:
    r = rtc.Room()
    opts = rtc.RoomOptions(auto_subscribe=True, single_peer_connection=single_pc, connect_timeout=15)
    await asyncio.wait_for(r.connect(server.ws_url, token(identity, ROOM, **grants), opts), 25)
    return r


def audio_track(name: str):
    source = rtc.AudioSource(SAMPLE_RATE, 1)
    return rtc.LocalAudioTrack.create_audio_track(name, source)


def video_track(name: str):
    source = rtc.VideoSource(64, 64)
    source.capture_frame(solid_frame(64, 64, (255, 0, 0)))
    return rtc.LocalVideoTrack.create_video_track(name, source)


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_without_can_publish_publishing_fails_and_nothing_arrives(server, single_pc):
    bob = await connect(server, "bob", single_pc)
    seen = []
    bob.on("track_published", lambda pub, p: seen.append((p.identity, pub.sid)))
    viewer = await connect_with(server, "viewer", single_pc, can_publish=False)
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        with pytest.raises(Exception):
            await asyncio.wait_for(viewer.local_participant.publish_track(audio_track("mic"), opts), 20)
        await asyncio.sleep(1.0)
        assert seen == [], "nobody hears of a refused track"
        got = await lk.room.get_participant(api.RoomParticipantIdentity(room=ROOM, identity="viewer"))
        assert list(got.tracks) == []
        assert not got.permission.can_publish
    finally:
        await lk.aclose()
        await viewer.disconnect()
        await bob.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_can_publish_sources_allows_the_microphone_and_refuses_the_camera(server, single_pc):
    bob = await connect(server, "bob", single_pc)
    alice = await connect_with(server, "alice", single_pc, can_publish_sources=["microphone"])
    seen = []
    bob.on("track_published", lambda pub, p: seen.append((p.identity, pub.kind)))
    try:
        pub, stop, task = await publish_tone(alice, 440.0)
        try:
            track = await wait_track(bob, "alice", rtc.TrackKind.KIND_AUDIO)
            assert rms(await record_audio(track, 0.5)) > 1000
            opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA)
            with pytest.raises(Exception):
                await asyncio.wait_for(alice.local_participant.publish_track(video_track("cam"), opts), 20)
            await asyncio.sleep(1.0)
            assert ("alice", rtc.TrackKind.KIND_VIDEO) not in seen
            assert [p.kind for p in bob.remote_participants["alice"].track_publications.values()] == [
                rtc.TrackKind.KIND_AUDIO
            ]
        finally:
            stop.set()
            await task
    finally:
        await alice.disconnect()
        await bob.disconnect()
