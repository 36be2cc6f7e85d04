"""A Python participant joins, publishes a microphone track, unpublishes
it and leaves: the other participant sees the publication come and go, the
publisher's TrackPublishedResponse carries a `TR_` sid, and the webhook
receiver (official `WebhookReceiver`) sees room_started, participant_joined,
track_published, track_unpublished, participant_left and room_finished.
(Media forwarding to subscribers is a later stage; this is the publication
lifecycle.)"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from livekit import rtc

from conftest import free_port
from test_connect import VARIANTS
from test_metrics import samples, scrape, total
from test_webhooks import ROOM, HookReceiver, join, webhook_config  # noqa: F401

SAMPLE_RATE = 48000


async def pump_tone(source: rtc.AudioSource, stop: asyncio.Event) -> None:
    t = 0
    n = SAMPLE_RATE // 100
    while not stop.is_set():
        samples = (np.sin(2 * np.pi * 440 * (np.arange(n) + t) / SAMPLE_RATE) * 8000).astype(np.int16)
        t += n
        frame = rtc.AudioFrame(samples.tobytes(), SAMPLE_RATE, 1, n)
        await source.capture_frame(frame)


@pytest.fixture
async def hooks():
    r = HookReceiver()
    await r.start()
    yield r
    await r.stop()


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_publish_unpublish_and_leave_fire_events_in_order(start_server, hooks, single_pc):
    metrics_port = free_port()
    extra = f"room:\n  departure_timeout: 1\nprometheus_port: {metrics_port}\n"
    server = start_server(args=webhook_config(hooks.url, extra))
    watcher = await join(server, "watcher", single_pc)
    alice = await join(server, "alice", single_pc)

    published = asyncio.get_running_loop().create_future()
    unpublished = asyncio.get_running_loop().create_future()

    @watcher.on("track_published")
    def _p(pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant):
        if not published.done():
            published.set_result((p.identity, pub.sid, pub.kind, pub.name))

    @watcher.on("track_unpublished")
    def _u(pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant):
        if not unpublished.done():
            unpublished.set_result((p.identity, pub.sid))

    source = rtc.AudioSource(SAMPLE_RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("mic", source)
    stop = asyncio.Event()
    pumping = asyncio.create_task(pump_tone(source, stop))
    try:
        opts = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        pub = await asyncio.wait_for(alice.local_participant.publish_track(track, opts), 15)
        assert pub.sid.startswith("TR_A")
        who, sid, kind, name = await asyncio.wait_for(published, 15)
        assert (who, sid, kind, name) == ("alice", pub.sid, rtc.TrackKind.KIND_AUDIO, "mic")
        tp = await hooks.wait_for("track_published")
        assert tp.track.sid == pub.sid and tp.participant.identity == "alice"
        assert tp.track.mime_type.lower() == "audio/opus"

        # While audio flows (50 packets/s), the workers' packet counters move.
        incoming = 'direction="incoming"'
        then = samples((await scrape(metrics_port))[1])
        before = total(then, "ringcast_worker_packets_total", incoming)
        await asyncio.sleep(1.0)
        now = samples((await scrape(metrics_port))[1])
        after = total(now, "ringcast_worker_packets_total", incoming)
        assert after - before >= 25, (before, after)
        # The watcher is subscribed: the audio is forwarded to it, and the
        # busy loop turns show up in the forwarding-latency histogram.
        fwd = total(now, "ringcast_forwarded_packets_total") - total(then, "ringcast_forwarded_packets_total")
        assert fwd >= 25, fwd
        assert total(now, "ringcast_forwarding_latency_seconds_count") > total(then, "ringcast_forwarding_latency_seconds_count")
        assert total(now, "livekit_track_published_total") == 1
        assert total(now, "livekit_track_subscribed_total") == 1
        assert total(now, "ringcast_webhook_events_total", 'outcome="delivered"') >= 3

        await asyncio.wait_for(alice.local_participant.unpublish_track(pub.sid), 15)
        assert await asyncio.wait_for(unpublished, 15) == ("alice", pub.sid)
        tu = await hooks.wait_for("track_unpublished")
        assert tu.track.sid == pub.sid
    finally:
        stop.set()
        await pumping
    await alice.disconnect()
    await watcher.disconnect()
    await hooks.wait_for("room_finished")
    names = hooks.names()
    assert not hooks.errors, hooks.errors
    order = ["room_started", "participant_joined", "track_published", "track_unpublished", "participant_left", "room_finished"]
    positions = [names.index(n) for n in order]
    assert positions == sorted(positions), names
