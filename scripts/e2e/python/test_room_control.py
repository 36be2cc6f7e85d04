"""Room control on live participants through the official SDKs: RoomService
MutePublishedTrack mutes the publisher's track for everyone, revoking
canPublish unpublishes, ListParticipants carries the tracks, and every
participant hears ConnectionQualityUpdates about itself and the publishers it
receives. Both signaling variants."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from livekit import api, rtc

from media_support import publish_tone, record_audio, rms, wait_track
from support import DEV_KEY, DEV_SECRET
from test_connect import VARIANTS, connect, token

ROOM = "connect-room"


def future_on(room: rtc.Room, event: str, match) -> asyncio.Future:
    """A future set with the arguments of the first `event` that `match`es."""
    fut = asyncio.get_running_loop().create_future()

    def handler(*args):
        if not fut.done() and match(*args):
            fut.set_result(args)

    room.on(event, handler)
    return fut


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_room_service_mute_mutes_the_live_track_for_everyone(server, single_pc):
    alice = await connect(server, "alice", single_pc)
    bob = await connect(server, "bob", single_pc)
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    pub, stop, task = await publish_tone(alice, 440.0)
    try:
        track = await wait_track(bob, "alice", rtc.TrackKind.KIND_AUDIO)
        before = await record_audio(track, 1.0)
        assert rms(before) > 1000, "the tone is heard before the mute"

        listed = await lk.room.list_participants(api.ListParticipantsRequest(room=ROOM))
        by_identity = {p.identity: p for p in listed.participants}
        tracks = by_identity["alice"].tracks
        assert [t.sid for t in tracks] == [pub.sid]
        assert tracks[0].type == api.TrackType.AUDIO
        assert tracks[0].source == api.TrackSource.MICROPHONE
        assert tracks[0].mime_type.lower() == "audio/opus"
        assert not tracks[0].muted
        assert by_identity["bob"].tracks == []

        bob_saw = future_on(bob, "track_muted", lambda p, pb: p.identity == "alice")
        alice_saw = future_on(alice, "track_muted", lambda p, pb: pb.sid == pub.sid)
        resp = await lk.room.mute_published_track(
            api.MuteRoomTrackRequest(room=ROOM, identity="alice", track_sid=pub.sid, muted=True)
        )
        assert resp.track.sid == pub.sid and resp.track.muted
        p, publication = await asyncio.wait_for(bob_saw, 10)
        assert publication.sid == pub.sid and publication.muted
        await asyncio.wait_for(alice_saw, 10)
        assert pub.muted, "the publisher's own SDK shows its track muted"

        after = await record_audio(track, 1.0, skip=1.0)
        assert len(after) == 0 or rms(after) < 50, "no tone once muted"

        got = await lk.room.get_participant(api.RoomParticipantIdentity(room=ROOM, identity="alice"))
        assert [t.muted for t in got.tracks] == [True]

        # Unmuting someone else needs room.enable_remote_unmute (off by default).
        with pytest.raises(api.TwirpError) as e:
            await lk.room.mute_published_track(
                api.MuteRoomTrackRequest(room=ROOM, identity="alice", track_sid=pub.sid, muted=False)
            )
        assert e.value.code == "failed_precondition"
        with pytest.raises(api.TwirpError) as e:
            await lk.room.mute_published_track(
                api.MuteRoomTrackRequest(room=ROOM, identity="alice", track_sid="TR_AMnope", muted=True)
            )
        assert e.value.code == "not_found"
    finally:
        stop.set()
        await task
        await lk.aclose()
        await alice.disconnect()
        await bob.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_revoking_can_publish_unpublishes_the_tracks(server, single_pc):
    alice = await connect(server, "alice", single_pc)
    bob = await connect(server, "bob", single_pc)
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    pub, stop, task = await publish_tone(alice, 440.0)
    try:
        await wait_track(bob, "alice", rtc.TrackKind.KIND_AUDIO)
        gone = future_on(bob, "track_unpublished", lambda pb, p: p.identity == "alice")
        perms = future_on(
            alice, "participant_permissions_changed", lambda p, perms: not perms.can_publish
        )
        await lk.room.update_participant(
            api.UpdateParticipantRequest(
                room=ROOM,
                identity="alice",
                permission=api.ParticipantPermission(
                    can_subscribe=True, can_publish=False, can_publish_data=True
                ),
            )
        )
        publication, _ = await asyncio.wait_for(gone, 10)
        assert publication.sid == pub.sid
        await asyncio.wait_for(perms, 10)
        got = await lk.room.get_participant(api.RoomParticipantIdentity(room=ROOM, identity="alice"))
        assert list(got.tracks) == []
        assert not got.permission.can_publish
    finally:
        stop.set()
        await task
        await lk.aclose()
        await alice.disconnect()
        await bob.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_connection_quality_is_reported_for_self_and_publishers(server, single_pc):
    alice = await connect(server, "alice", single_pc)
    bob = await connect(server, "bob", single_pc)
    pub, stop, task = await publish_tone(alice, 440.0)
    seen: dict[str, list] = {}

    @bob.on("connection_quality_changed")
    def _q(participant, quality):
        seen.setdefault(participant.identity, []).append(quality)

    try:
        track = await wait_track(bob, "alice", rtc.TrackKind.KIND_AUDIO)
        pcm = await record_audio(track, 0.5)
        assert rms(pcm) > 1000
        # LiveKit's pace is one update every 5 s; two updates within 12 s.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 12
        while loop.time() < deadline and len(seen.get("alice", [])) < 2:
            await asyncio.sleep(0.2)
        assert len(seen.get("alice", [])) >= 2, f"updates about the publisher: {seen}"
        assert seen.get("bob"), f"bob hears about itself: {seen}"
        # Loopback, no loss: the publisher's audio arrives whole.
        assert seen["alice"][-1] == rtc.ConnectionQuality.QUALITY_EXCELLENT
        assert seen["bob"][-1] == rtc.ConnectionQuality.QUALITY_EXCELLENT
    finally:
        stop.set()
        await task
        await alice.disconnect()
        await bob.disconnect()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_room_service_update_subscriptions_acts_for_the_participant(server, single_pc):
    alice = await connect(server, "alice", single_pc)
    bob = rtc.Room()
    opts = rtc.RoomOptions(auto_subscribe=False, single_peer_connection=single_pc, connect_timeout=15)
    await asyncio.wait_for(bob.connect(server.ws_url, token("bob"), opts), 25)
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    published = future_on(bob, "track_published", lambda pb, p: p.identity == "alice")
    pub, stop, task = await publish_tone(alice, 440.0)
    try:
        await asyncio.wait_for(published, 10)
        subscribed = future_on(bob, "track_subscribed", lambda t, pb, p: pb.sid == pub.sid)
        await asyncio.sleep(1.0)
        assert not subscribed.done(), "bob does not auto-subscribe"
        await lk.room.update_subscriptions(
            api.UpdateSubscriptionsRequest(room=ROOM, identity="bob", track_sids=[pub.sid], subscribe=True)
        )
        track, _, _ = await asyncio.wait_for(subscribed, 10)
        pcm = await record_audio(track, 1.0)
        assert rms(pcm) > 1000, "the tone arrives once subscribed on bob's behalf"

        # The Rust SDK emits no event when the server ends a subscription;
        # what bob notices is that the tone stops.
        await lk.room.update_subscriptions(
            api.UpdateSubscriptionsRequest(room=ROOM, identity="bob", track_sids=[pub.sid], subscribe=False)
        )
        await asyncio.sleep(1.0)
        after = await record_audio(track, 1.0)
        assert len(after) == 0 or rms(after) < 50, "no tone once unsubscribed"
    finally:
        stop.set()
        await task
        await lk.aclose()
        await alice.disconnect()
        await bob.disconnect()
