"""Every video codec LiveKit carries, through the official Python SDK: a
publisher picks VP8, H.264, VP9 or AV1 (`TrackPublishOptions.video_codec`);
the subscriber decodes frames of the published size and colour, and the
track's mime type names the codec. One signaling variant per codec keeps the
suite short; test_media.py covers both variants with the default codec."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api, rtc

from media_support import close_to, mean_rgb, solid_frame, pump_colour, wait_track
from support import DEV_KEY, DEV_SECRET
from test_connect import connect

GREEN = (30, 200, 60)

CODECS = [
    pytest.param(rtc.VideoCodec.VP8, "video/vp8", True, id="vp8-v1"),
    pytest.param(rtc.VideoCodec.H264, "video/h264", False, id="h264-dual"),
    pytest.param(rtc.VideoCodec.VP9, "video/vp9", True, id="vp9-v1"),
    pytest.param(rtc.VideoCodec.AV1, "video/av1", False, id="av1-dual"),
]


@pytest.mark.parametrize("codec,mime,single_pc", CODECS)
async def test_each_codec_is_forwarded_and_decoded(server, codec, mime, single_pc):
    room = f"codec-{mime.split('/')[1]}"
    alice = await connect(server, "alice", single_pc, room=room)
    bob = await connect(server, "bob", single_pc, room=room)
    source = rtc.VideoSource(320, 240)
    track = rtc.LocalVideoTrack.create_video_track("cam", source)
    frames = {"now": solid_frame(320, 240, GREEN)}
    stop = asyncio.Event()
    task = asyncio.create_task(pump_colour(source, frames, stop))
    lk = api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET)
    try:
        opts = rtc.TrackPublishOptions(
            source=rtc.TrackSource.SOURCE_CAMERA, video_codec=codec, simulcast=False
        )
        pub = await asyncio.wait_for(alice.local_participant.publish_track(track, opts), 15)
        remote = await wait_track(bob, "alice", rtc.TrackKind.KIND_VIDEO)
        stream = rtc.VideoStream(remote)
        good = 0

        async def watch():
            nonlocal good
            async for ev in stream:
                f = ev.frame
                if (f.width, f.height) == (320, 240) and close_to(mean_rgb(f), GREEN):
                    good += 1
                    if good >= 15:
                        return

        try:
            await asyncio.wait_for(watch(), 20)
        finally:
            await stream.aclose()
        assert good >= 15
        got = await lk.room.get_participant(api.RoomParticipantIdentity(room=room, identity="alice"))
        infos = {t.sid: t for t in got.tracks}
        assert infos[pub.sid].mime_type.lower() == mime
    finally:
        stop.set()
        await task
        await lk.aclose()
        await alice.disconnect()
        await bob.disconnect()
