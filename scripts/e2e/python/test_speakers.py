"""Active speakers through the official Python SDK: of two publishers, the
loud one is reported in `active_speakers_changed` and the near-silent one
never is (both signaling variants)."""

from __future__ import annotations

import asyncio

import pytest
from livekit import rtc

from media_support import publish_tone
from test_connect import VARIANTS, connect


@pytest.mark.parametrize("single_pc", VARIANTS)
async def test_the_loud_publisher_is_an_active_speaker_and_the_quiet_one_never(server, single_pc):
    loud = await connect(server, "loud", single_pc, room="speakers")
    quiet = await connect(server, "quiet", single_pc, room="speakers")
    listener = await connect(server, "listener", single_pc, room="speakers")
    reports: list[list[str]] = []
    got_loud = asyncio.Event()

    @listener.on("active_speakers_changed")
    def _changed(speakers: list[rtc.Participant]):
        ids = [p.identity for p in speakers]
        reports.append(ids)
        if "loud" in ids:
            got_loud.set()

    pumps = [await publish_tone(loud, 440.0), await publish_tone(quiet, 660.0, amplitude=8)]
    try:
        await asyncio.wait_for(got_loud.wait(), 10)
        # Keep listening a while: the quiet one must never show up.
        await asyncio.sleep(3)
    finally:
        for _, stop, task in pumps:
            stop.set()
            await task
    assert any("loud" in r for r in reports), reports
    assert not any("quiet" in r for r in reports), reports
    for r in (loud, quiet, listener):
        await r.disconnect()
