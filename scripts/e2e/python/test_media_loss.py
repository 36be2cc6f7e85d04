"""Issue #4: with 5% random loss on the path, video keeps decoding and the
NACK/RTX counters show the repair.

The server and both participants run inside a fresh network namespace whose
loopback drops 5% of packets (`tc netem loss 5%`), so every leg (publisher to
server, server to subscriber, and the NACKs/RTX themselves) is lossy. The
peer script (loss_peer.py) publishes 320x240 video that changes every frame
and reports decoded frames per second plus the server's Prometheus counters.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import LOG_DIR, READY_TIMEOUT_S, REPO, ringcast_bin, safe_name, server_env, tail

PEER = Path(__file__).resolve().parent / "loss_peer.py"
SECONDS = 12
SENT_FPS = 30
WARMUP_S = 3
MIN_SHARE_OF_SENT = 0.4


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=20, check=check)


def add_loss(ns: str):
    """Makes loopback in `ns` drop 5% of packets at random; says how, or None.

    `tc netem loss 5%` when the kernel has sch_netem; otherwise an nftables
    output rule dropping 5% of UDP (all media, NACKs and RTX) by `numgen
    random`. Loopback packets pass the output hook exactly once, like netem
    on `lo` egress."""
    netem = ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "loss", "5%"]
    if sh(*netem, check=False).returncode == 0:
        return "netem"
    rules = (
        "add table inet rcloss\n"
        "add chain inet rcloss out { type filter hook output priority 0; policy accept; }\n"
        "add rule inet rcloss out meta l4proto udp numgen random mod 100 < 5 counter drop\n"
    )
    try:
        r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules,
                           capture_output=True, text=True, timeout=20)
    except FileNotFoundError:
        return None
    return "nftables" if r.returncode == 0 else None


def dropped_by_nft(ns: str) -> str:
    r = sh("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "rcloss", check=False)
    return " ".join(l.strip() for l in r.stdout.splitlines() if "counter" in l)


@pytest.fixture
def lossy_netns():
    """A namespace with loopback up and 5% random loss on it; always removed."""
    name = f"rcloss-{uuid.uuid4().hex[:8]}"
    made = sh("ip", "netns", "add", name, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        # libwebrtc gathers no candidates on loopback, so give the clients a
        # real-looking interface; their packets to 127.0.0.1 still go via lo.
        ns_ip = ("ip", "netns", "exec", name, "ip")
        sh(*ns_ip, "link", "add", "rcv0", "type", "veth", "peer", "name", "rcv1")
        sh(*ns_ip, "addr", "add", "10.231.0.1/24", "dev", "rcv0")
        sh(*ns_ip, "addr", "add", "10.231.0.2/24", "dev", "rcv1")
        sh(*ns_ip, "link", "set", "rcv0", "up")
        sh(*ns_ip, "link", "set", "rcv1", "up")
        how = add_loss(name)
        if how is None:
            pytest.skip("neither tc netem nor nftables can drop packets in this kernel")
        yield name
    finally:
        sh("ip", "netns", "delete", name, check=False)


def wait_ready_in(ns: str, proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ringcast exited with {proc.returncode}; log {log}:\n{tail(log)}")
        r = sh("ip", "netns", "exec", ns, "curl", "-s", "-m", "1", f"http://127.0.0.1:{port}/", check=False)
        if r.returncode == 0 and r.stdout.strip() == "OK":
            return
        time.sleep(0.1)
    pytest.fail(f"ringcast not ready in {READY_TIMEOUT_S}s; log {log}:\n{tail(log)}")


def run_loss_scenario(ns: str, test_name: str, single_pc: bool) -> dict:
    binary = ringcast_bin()
    if not binary.exists():
        pytest.fail(f"ringcast binary not found at {binary} (set RINGCAST_BIN)")
    port = free_port(socket.SOCK_STREAM)
    udp_port = free_port(socket.SOCK_DGRAM)
    metrics_port = free_port(socket.SOCK_STREAM)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"py-{safe_name(test_name)}.log"
    cmd = [
        "ip", "netns", "exec", ns, str(binary), "--dev",
        "--port", str(port), "--udp-port", str(udp_port),
        "--config-body", f"prometheus_port: {metrics_port}\n",
    ]
    with open(log, "wb") as f:
        f.write(("$ " + " ".join(cmd) + "\n").encode())
        f.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                env=server_env(), cwd=REPO)
    try:
        wait_ready_in(ns, proc, port, log)
        peer = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, str(PEER),
             "--url", f"ws://127.0.0.1:{port}",
             "--metrics-url", f"http://127.0.0.1:{metrics_port}/metrics",
             "--seconds", str(SECONDS),
             "--single-pc", "true" if single_pc else "false"],
            capture_output=True, text=True, timeout=110, cwd=REPO, env=dict(os.environ),
        )
        lines = [l for l in peer.stdout.splitlines() if l.startswith("{")]
        assert lines, (
            f"peer printed no result (rc {peer.returncode});\nstderr:\n{peer.stderr[-3000:]}\n"
            f"server log:\n{tail(log)}"
        )
        result = json.loads(lines[-1])
        assert "error" not in result, f"peer failed: {result['error']}\nserver log:\n{tail(log)}"
        return result
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.mark.timeout(150)
@pytest.mark.parametrize("single_pc", [True, False], ids=["single_pc", "dual_pc"])
def test_video_keeps_decoding_under_5pct_loss_with_nack_rtx_recovery(lossy_netns, request, single_pc):
    r = run_loss_scenario(lossy_netns, request.node.name, single_pc)
    per_second, m = r["per_second"], r["metrics"]
    # Shown with -s, and in the failure report otherwise.
    print(
        f"\nloss ({'single' if single_pc else 'dual'} PC): per_second={per_second} "
        f"size={r['width']}x{r['height']} sent={r['sent_frames']} metrics={json.dumps(m)}"
    )
    assert (r["width"], r["height"]) == (320, 240), r
    after = per_second[WARMUP_S:]
    windows = [sum(after[i : i + 2]) for i in range(0, len(after) - 1, 2)]
    assert all(w > 0 for w in windows), f"a 2 s window decoded nothing: {per_second}"
    decoded_fps = sum(after) / len(after)
    assert decoded_fps >= MIN_SHARE_OF_SENT * SENT_FPS, (
        f"decoded {decoded_fps:.1f} fps after warm-up, want >= {MIN_SHARE_OF_SENT * SENT_FPS}: {per_second}"
    )
    assert not m["missing"], f"counters missing from /metrics: {m['missing']}"
    assert m["nack_incoming"] > 0, f"no subscriber NACK reached the server: {m}"
    assert m["packet_retransmit"] > 0, f"no packet was retransmitted from the cache: {m}"
    assert m["forwarded_packets"] > 0, m
