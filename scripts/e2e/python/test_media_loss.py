"""Video keeps decoding under 5% random packet loss, repaired by NACKs.

The server and both participants (official Python SDK, loss_peer.py) run in
a network namespace this test creates and deletes; 5% of the packets on its
loopback are dropped at random (`tc netem loss 5%` when the kernel has
sch_netem, else an nftables `numgen random` rule on UDP), so every leg is
lossy: publisher to server, server to subscriber, and the NACKs and
retransmissions themselves. Nothing outside the namespace is touched.

The publisher (libwebrtc) negotiates no RTX (the SDK keeps only the primary
codec), so it answers our NACKs by resending the original packet on the
media SSRC: its own stats (`nackCount`, `retransmittedPacketsSent`) prove
the server's NACKs reach it; `livekit_packet_retransmit_total` proves the
subscriber's NACKs are answered from the server's cache. Both signaling
variants (`/rtc/v1` single PC and `/rtc` dual PC).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import LOG_DIR, REPO, ringcast_bin, safe_name, server_env, tail
from test_connect import VARIANTS

PEER = Path(__file__).resolve().parent / "loss_peer.py"
LOSS_PERCENT = 5
WINDOW_S = 10.0
# Frames the subscriber's decoder decoded, as a share of those the
# publisher's encoder produced (libwebrtc's own counts, so a busy machine
# slowing the Python side does not change them). Unrepaired loss leaves
# frames undecodable until the next keyframe: about half were lost so.
MIN_SHARE_DECODED = 0.8
# Frames the test received in the window, as a share of those captured in
# it: a loose check that Python saw the video too (the encoder skips some
# frames at this CPU budget, ~20 of 30 fps, more on a busy machine).
MIN_SHARE_RECEIVED = 0.3
# Longest time without a decoded frame: a packet lost for good stalls the
# picture until the next keyframe (libwebrtc asks after ~3 s).
MAX_GAP_S = 1.5
HTTP_PORT, UDP_PORT, METRICS_PORT = 7880, 7882, 6789


def sh(*cmd: str, stdin: str | None = None, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), input=stdin, capture_output=True, text=True, timeout=timeout)


def in_ns(ns: str, *cmd: str, **kw) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, *cmd, **kw)


def add_loss(ns: str) -> str:
    """Drops LOSS_PERCENT of the packets leaving loopback in `ns` (each
    packet between two local sockets leaves it exactly once); returns how."""
    netem = in_ns(ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "loss", f"{LOSS_PERCENT}%")
    if netem.returncode == 0:
        return "netem"
    rules = (
        "add table inet rcloss\n"
        "add chain inet rcloss out { type filter hook output priority 0; policy accept; }\n"
        f"add rule inet rcloss out meta l4proto udp numgen random mod 100 < {LOSS_PERCENT} counter drop\n"
    )
    try:
        nft = in_ns(ns, "nft", "-f", "-", stdin=rules)
    except FileNotFoundError:
        pytest.fail(
            "no sch_netem in this kernel and no nft: run scripts/install-test-deps.sh "
            f"(tc said: {netem.stderr.strip()})"
        )
    if nft.returncode != 0:
        pytest.fail(f"neither netem ({netem.stderr.strip()}) nor nftables ({nft.stderr.strip()}) can drop packets")
    return "nftables"


def dropped(ns: str, how: str) -> int:
    """Packets the loss rule dropped so far."""
    if how == "netem":
        out = in_ns(ns, "tc", "-s", "qdisc", "show", "dev", "lo").stdout
        marker = "dropped "
    else:
        out = in_ns(ns, "nft", "list", "table", "inet", "rcloss").stdout
        marker = "packets "
    at = out.find(marker)
    if at < 0:
        return 0
    digits = out[at + len(marker) :].split(maxsplit=1)[0].rstrip(",")
    return int(digits) if digits.isdigit() else 0


@pytest.fixture
def lossy_ns():
    """A fresh namespace: loopback with random loss, plus a veth pair so
    libwebrtc (which gathers no loopback candidates) has an interface.
    Yields (name, how the loss is applied); always deleted."""
    name = f"rcloss-{uuid.uuid4().hex[:8]}"
    try:
        made = sh("ip", "netns", "add", name)
    except FileNotFoundError:
        pytest.skip("network namespaces unavailable: no `ip` command")
    if made.returncode != 0:
        pytest.skip(f"network namespaces unavailable: {made.stderr.strip()}")
    try:
        for cmd in (
            ["link", "set", "lo", "up"],
            ["link", "add", "rcv0", "type", "veth", "peer", "name", "rcv1"],
            ["addr", "add", "10.231.0.1/24", "dev", "rcv0"],
            ["addr", "add", "10.231.0.2/24", "dev", "rcv1"],
            ["link", "set", "rcv0", "up"],
            ["link", "set", "rcv1", "up"],
        ):
            r = in_ns(name, "ip", *cmd)
            assert r.returncode == 0, f"ip {' '.join(cmd)}: {r.stderr}"
        yield name, add_loss(name)
    finally:
        sh("ip", "netns", "delete", name)


WAIT_READY = """
import sys, time, urllib.request
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=1).read().strip() == b"OK":
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
"""


def run_peer(ns: str, test_name: str, single_pc: bool) -> dict:
    binary = ringcast_bin()
    if not binary.exists():
        pytest.fail(f"ringcast binary not found at {binary} (set RINGCAST_BIN)")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"py-{safe_name(test_name)}.log"
    cmd = [
        "ip", "netns", "exec", ns, str(binary), "--dev",
        "--port", str(HTTP_PORT), "--udp-port", str(UDP_PORT),
        "--config-body", f"prometheus_port: {METRICS_PORT}\n",
    ]
    with open(log, "wb") as f:
        f.write(("$ " + " ".join(cmd) + "\n").encode())
        f.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                env=server_env(), cwd=REPO)
    try:
        ready = in_ns(ns, sys.executable, "-c", WAIT_READY, f"http://127.0.0.1:{HTTP_PORT}/")
        assert ready.returncode == 0 and proc.poll() is None, f"ringcast not ready; log {log}:\n{tail(log)}"
        peer = in_ns(
            ns, sys.executable, str(PEER),
            "--url", f"ws://127.0.0.1:{HTTP_PORT}",
            "--metrics-url", f"http://127.0.0.1:{METRICS_PORT}/metrics",
            "--seconds", str(WINDOW_S),
            "--single-pc", "true" if single_pc else "false",
            timeout=45,
        )
        lines = [line for line in peer.stdout.splitlines() if line.startswith("{")]
        assert lines, f"peer printed no result (rc {peer.returncode}):\n{peer.stderr[-3000:]}\nserver log:\n{tail(log)}"
        result = json.loads(lines[-1])
        assert "error" not in result, f"peer failed: {result['error']}\n{peer.stderr[-2000:]}\nserver log:\n{tail(log)}"
        return result
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("single_pc", VARIANTS)
def test_video_keeps_decoding_under_5pct_loss_repaired_by_nacks(lossy_ns, request, single_pc):
    ns, how = lossy_ns
    r = run_peer(ns, request.node.name, single_pc)
    arrivals, m, pub, sub = r["arrivals"], r["metrics"], r["publisher"], r["subscriber"]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    max_gap = max(gaps, default=WINDOW_S)
    summary = (
        f"loss via {how}, {dropped(ns, how)} packets dropped; decoded {len(arrivals)} of "
        f"{r['sent_in_window']} frames captured in {WINDOW_S:.0f} s, longest gap {max_gap:.2f} s; "
        f"server {json.dumps(m)}; publisher {json.dumps(pub)}; subscriber {json.dumps(sub)}"
    )
    print("\n" + summary)  # shown with -s
    assert dropped(ns, how) > 0, f"no packet was dropped: {summary}"
    assert r["sizes"] == [[320, 240]], summary
    assert sub.get("frames_decoded", 0) >= MIN_SHARE_DECODED * pub.get("frames_encoded", 0), (
        f"frames encoded but not decoded: {summary}"
    )
    assert len(arrivals) >= MIN_SHARE_RECEIVED * r["sent_in_window"], f"too few frames: {summary}"
    assert max_gap <= MAX_GAP_S, f"video stalled: {summary}"
    assert arrivals and arrivals[-1] >= WINDOW_S - MAX_GAP_S, f"video stalled at the end: {summary}"
    assert not m["missing"], f"counters missing from /metrics: {summary}"
    # The subscriber's NACKs reached the server and were answered from its cache.
    assert m["nack_incoming"] > 0 and m["packet_retransmit"] > 0, summary
    # The server NACKed the publisher's losses and the publisher answered:
    # with RTX (ringcast_rtx_received_total) or, as here without RTX, by
    # resending on the media SSRC (its own retransmittedPacketsSent).
    assert m["nack_outgoing"] > 0 and pub.get("nack_count", 0) > 0, summary
    assert m["rtx_received"] > 0 or pub.get("retransmitted_packets_sent", 0) > 0, summary
    # ...and the server saw the repairs of what it NACKed arrive.
    assert m["nack_repaired"] > 0, summary
