"""The dataplane as its own process: `ringcast dataplane --dataplane-shm P`
runs the media workers and holds the HTTP/WebSocket listeners,
`ringcast --dataplane-shm P` is the control plane. Killing the control plane
(SIGKILL, or a clean SIGTERM) and starting a new one must not stop the media: the official SDK
subscriber keeps hearing the publisher's tone, resumes its session on the new
control plane (same participant sid, `reconnected`, never `disconnected`),
and the new control plane knows the room (ListParticipants) and serves a
newcomer the publisher's existing track. Both signaling variants."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time

import numpy as np
import pytest
from livekit import api, rtc

from conftest import (
    LOG_DIR,
    RingcastServer,
    free_port,
    ringcast_bin,
    safe_name,
    server_env,
    wait_ready,
)
from media_support import SAMPLE_RATE, frequency_energy, publish_tone, record_audio, rms, wait_track
from support import DEV_KEY, DEV_SECRET
from test_connect import VARIANTS, connect

TONE_HZ = 440.0
# A 100 ms bin counts as heard when its frames carry the tone this loud.
HEARD_RMS = 300.0
BIN_S = 0.1
# The bar: nobody loses media for more than a second.
MAX_SILENCE_S = 1.0


class Processes:
    """The dataplane process and its control planes, stopped at the end."""

    def __init__(self, name: str):
        self.name = safe_name(name)
        self.port = free_port(socket.SOCK_STREAM)
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.shm = f"/dev/shm/ringcast-e2e-{os.getpid()}-{self.udp_port}"
        self.procs: list[subprocess.Popen] = []

    def launch(self, tag: str, extra: list[str]) -> RingcastServer:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log_path = LOG_DIR / f"py-{self.name}-{tag}.log"
        cmd = [str(ringcast_bin()), "--dev", "--port", str(self.port), "--udp-port", str(self.udp_port),
               "--dataplane-shm", self.shm, *extra]
        log = open(log_path, "wb")
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=server_env(), cwd=LOG_DIR)
        log.close()
        self.procs.append(proc)
        return RingcastServer(proc, self.port, self.udp_port, log_path, cmd)

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        for path in (self.shm, self.shm + ".sock"):
            try:
                os.unlink(path)
            except OSError:
                pass


async def listen(track: rtc.Track, bins: dict, stop: asyncio.Event) -> None:
    """Marks each 100 ms bin (monotonic time) in which a frame carried the tone."""
    stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
    try:
        async for ev in stream:
            pcm = np.frombuffer(ev.frame.data, dtype=np.int16)
            b = int(time.monotonic() / BIN_S)
            if len(pcm) and rms(pcm) > HEARD_RMS:
                bins[b] = True
            if stop.is_set():
                break
    finally:
        await stream.aclose()


def longest_silence(bins: dict, start: float, end: float) -> float:
    """Longest run of bins in [start, end) without the tone, in seconds."""
    first, last = int(start / BIN_S), int(end / BIN_S)
    run = worst = 0
    for b in range(first, last):
        run = 0 if bins.get(b) else run + 1
        worst = max(worst, run)
    return worst * BIN_S


@pytest.mark.parametrize(
    "single_pc,stop_signal",
    [
        pytest.param(True, signal.SIGKILL, id="rtc-v1-single-pc-sigkill"),
        pytest.param(False, signal.SIGKILL, id="rtc-dual-pc-sigkill"),
        # A clean stop writes a last snapshot and leaves everyone connected.
        pytest.param(True, signal.SIGTERM, id="rtc-v1-single-pc-sigterm"),
    ],
)
async def test_control_plane_restart_keeps_media_flowing(request, single_pc, stop_signal):
    procs = Processes(request.node.name)
    rooms: list[rtc.Room] = []
    stop = asyncio.Event()
    try:
        dataplane = procs.launch("dataplane", ["dataplane"])
        control = procs.launch("control-1", [])
        wait_ready(control)
        assert dataplane.alive(), "the dataplane process is running"

        alice = await connect(control, "alice", single_pc)
        bob = await connect(control, "bob", single_pc)
        rooms += [alice, bob]
        events: list[str] = []
        for name in ("reconnecting", "reconnected", "disconnected"):
            bob.on(name, lambda *a, n=name: events.append(n))
        bob_sid = bob.local_participant.sid
        alice_sid = alice.local_participant.sid

        _pub, tone_stop, tone_task = await publish_tone(alice, TONE_HZ)
        track = await wait_track(bob, "alice", rtc.TrackKind.KIND_AUDIO)
        bins: dict = {}
        listener = asyncio.create_task(listen(track, bins, stop))
        await asyncio.sleep(3)
        heard_from = time.monotonic() - 1.5
        assert longest_silence(bins, heard_from, time.monotonic()) < 0.3, "the tone flows before the restart"

        # Stop the control plane (SIGKILL: a crash); the dataplane keeps forwarding.
        killed_at = time.monotonic()
        control.proc.send_signal(stop_signal)
        code = control.proc.wait(5)
        if stop_signal == signal.SIGTERM:
            assert code == 0, "a clean stop exits 0"
            assert "the dataplane keeps forwarding" in control.log()
        await asyncio.sleep(0.3)
        restarted = procs.launch("control-2", [])
        wait_ready(restarted)
        assert "took back the previous control plane's state" in restarted.log()

        # Give the SDKs time to resume; the tone must never stop for long.
        deadline = time.monotonic() + 20
        while "reconnected" not in events and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(3)
        end = time.monotonic()
        silence = longest_silence(bins, killed_at - 1.0, end)
        assert "reconnected" in events, f"bob never resumed: events {events}"
        assert "disconnected" not in events, f"bob was disconnected: {events}"
        assert silence <= MAX_SILENCE_S, f"bob lost the tone for {silence:.1f}s across the restart"
        assert bob.local_participant.sid == bob_sid, "bob resumed the same session (no rejoin)"
        assert alice.local_participant.sid == alice_sid
        assert bob.connection_state == rtc.ConnectionState.CONN_CONNECTED

        # The new control plane knows the room and can add to it.
        lk = api.LiveKitAPI(restarted.url, DEV_KEY, DEV_SECRET)
        try:
            listed = await lk.room.list_participants(api.ListParticipantsRequest(room="connect-room"))
            assert sorted(p.identity for p in listed.participants) == ["alice", "bob"]
            carol = await connect(restarted, "carol", single_pc)
            rooms.append(carol)
            carol_track = await wait_track(carol, "alice", rtc.TrackKind.KIND_AUDIO)
            pcm = await record_audio(carol_track, 1.5)
            assert rms(pcm) > 1000, "a newcomer hears the publisher the old control plane set up"
            assert frequency_energy(pcm, TONE_HZ) > 0.5
            listed = await lk.room.list_participants(api.ListParticipantsRequest(room="connect-room"))
            assert sorted(p.identity for p in listed.participants) == ["alice", "bob", "carol"]
        finally:
            await lk.aclose()
        tone_stop.set()
        await tone_task
    finally:
        stop.set()
        for r in rooms:
            try:
                await asyncio.wait_for(r.disconnect(), 5)
            except Exception:
                pass
        procs.stop_all()
