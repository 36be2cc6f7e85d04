"""Subscription permissions, judged by the official Python SDK on both
signaling variants: alice lets only bob subscribe to her microphone
(`set_track_subscription_permissions`); bob hears her tone, carol sees the
publication but is never subscribed; once alice allows everyone, carol is
subscribed and hears the tone; when alice takes it back, carol's audio
stops while bob's goes on.

The Python SDK (livekit-ffi over the Rust SDK) ignores
`SubscriptionPermissionUpdate` and has no event for it; the message itself
is asserted in controlplane/tests/subscription_permissions.rs. A revoked
subscription ends in the SDP only (the publication stays), so the Rust SDK
emits no `track_unsubscribed`: what is asserted is that the tone stops."""

from __future__ import annotations

import asyncio

import pytest
from livekit import rtc

from media_support import frequency_energy, publish_tone, record_audio, rms, wait_track
from test_connect import VARIANTS, connect

ROOM = "permissions"
AUDIO = rtc.TrackKind.KIND_AUDIO


def only(identity: str) -> list:
    return [rtc.ParticipantTrackPermission(participant_identity=identity, allow_all=True)]


async def hears_tone(track: rtc.Track, seconds: float = 1.5) -> bool:
    pcm = await record_audio(track, seconds)
    return len(pcm) >= 48000 * seconds * 0.5 and frequency_energy(pcm, 440.0) > 0.5


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_only_allowed_subscribers_receive_until_alice_allows_all(server, single_pc):
    alice = await connect(server, "alice", single_pc, room=ROOM)
    bob = await connect(server, "bob", single_pc, room=ROOM)
    carol = await connect(server, "carol", single_pc, room=ROOM)
    carol_subscribed: list[str] = []
    carol_failed: list[str] = []
    carol.on("track_subscribed", lambda track, pub, p: carol_subscribed.append(pub.sid))
    carol.on("track_subscription_failed", lambda p, sid, err: carol_failed.append(sid))

    # The SDK sends the request from a task of its own: give it time to go
    # out before the track is published.
    alice.local_participant.set_track_subscription_permissions(
        allow_all_participants=False, participant_permissions=only("bob")
    )
    await asyncio.sleep(1.0)
    pub, stop, task = await publish_tone(alice, 440.0)
    try:
        bob_track = await wait_track(bob, "alice", AUDIO)
        assert bob_track.sid == pub.sid
        assert await hears_tone(bob_track), "bob (allowed) does not hear alice"

        # carol sees the publication but is not subscribed.
        for _ in range(50):
            if pub.sid in carol.remote_participants["alice"].track_publications:
                break
            await asyncio.sleep(0.1)
        remote = carol.remote_participants["alice"].track_publications[pub.sid]
        await asyncio.sleep(3.0)
        assert carol_subscribed == [], carol_subscribed
        assert not remote.subscribed and remote.track is None
        assert carol_failed == [], "the SDK has no failure event for permissions"

        # Everyone allowed: carol is subscribed and hears the tone.
        alice.local_participant.set_track_subscription_permissions(allow_all_participants=True)
        carol_track = await wait_track(carol, "alice", AUDIO, timeout=15)
        assert carol_subscribed == [pub.sid]
        assert await hears_tone(carol_track), "carol does not hear alice once allowed"

        # Only bob again: carol's down-track is removed, bob keeps hearing.
        alice.local_participant.set_track_subscription_permissions(
            allow_all_participants=False, participant_permissions=only("bob")
        )
        await asyncio.sleep(1.5)
        pcm = await record_audio(carol_track, 1.5, skip=0.0)
        assert len(pcm) < 48000 * 0.5 or frequency_energy(pcm, 440.0) < 0.2 or rms(pcm) < 300, (
            f"carol still hears alice after the revocation: {len(pcm)} samples, rms {rms(pcm):.0f}"
        )
        assert await hears_tone(bob_track), "bob stopped hearing alice"
    finally:
        stop.set()
        await task
    for r in (alice, bob, carol):
        await r.disconnect()
