"""SIGTERM with connected participants: each official SDK participant is
told SERVER_SHUTDOWN and the server exits 0 within 5 s."""

from __future__ import annotations

import asyncio
import signal
import time

from livekit import rtc

from test_connect import connect


async def test_sigterm_disconnects_participants_with_server_shutdown_and_exits_zero(server):
    alice = await connect(server, "alice", True)
    bob = await connect(server, "bob", False)
    reasons = {}
    done = asyncio.Event()

    def watch(room: rtc.Room, name: str):
        @room.on("disconnected")
        def _d(reason):
            reasons[name] = reason
            if len(reasons) == 2:
                done.set()

    watch(alice, "alice")
    watch(bob, "bob")
    start = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(done.wait(), 10)
    assert reasons == {
        "alice": rtc.DisconnectReason.SERVER_SHUTDOWN,
        "bob": rtc.DisconnectReason.SERVER_SHUTDOWN,
    }
    rc = await asyncio.get_running_loop().run_in_executor(None, server.proc.wait, 10)
    assert rc == 0
    assert time.monotonic() - start < 5, "exit within 5 s"
