"""Harness for the Python end-to-end suites.

Every test starts its own `ringcast` process on free ports, so tests never
share state and a crash is pinned to the test that caused it. The binary is
`$RINGCAST_BIN`, by default `<repo>/target/release/ringcast`. Server output
goes to `.e2e-logs/<test>.log`; the tail of it is printed when a test fails.

Fixtures:
  start_server(args=[...], env={...}, dev=True) -> RingcastServer
      launches `ringcast [--dev] --port P --udp-port U <args>`, waits until
      `GET /` answers `OK` (15 s), and stops it when the test ends.
  server -> RingcastServer     a plain `ringcast --dev`.
  run_ringcast(args, env=..., timeout=...) -> CompletedProcess
      runs the binary to completion (CLI subcommands, startup failures).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]
LOG_DIR = Path(os.environ.get("RINGCAST_E2E_LOGS", REPO / ".e2e-logs"))
DEV_KEY = "devkey"
DEV_SECRET = "secret"
READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
DEFAULT_TEST_TIMEOUT_S = 60

# Environment variables the server reads; scrubbed from the inherited
# environment so a developer's shell cannot change what a test sees.
SERVER_ENV_VARS = (
    "LIVEKIT_KEYS",
    "LIVEKIT_CONFIG",
    "LIVEKIT_CONFIG_FILE",
    "NODE_IP",
    "UDP_PORT",
    "REDIS_HOST",
)


def ringcast_bin() -> Path:
    """The binary under test: `$RINGCAST_BIN` or the release build."""
    configured = os.environ.get("RINGCAST_BIN")
    path = Path(configured) if configured else REPO / "target" / "release" / "ringcast"
    if not path.is_absolute():
        path = REPO / path
    return path


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port the kernel just handed out on 127.0.0.1 for `kind`."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(extra: Optional[dict] = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_VARS}
    env.setdefault("RUST_BACKTRACE", "1")
    env.update(extra or {})
    return env


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:150]


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


@dataclass
class RingcastServer:
    """One running `ringcast` process."""

    proc: subprocess.Popen
    port: int
    udp_port: int
    log_path: Path
    args: list = field(default_factory=list)

    @property
    def url(self) -> str:
        """HTTP base URL, what the server SDKs take."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """WebSocket base URL, what the client SDKs take."""
        return f"ws://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> Optional[int]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
        return self.proc.returncode


class ServerDidNotStart(RuntimeError):
    pass


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def wait_ready(server: RingcastServer, timeout: float = READY_TIMEOUT_S) -> None:
    """Polls `GET /` until it answers 200 `OK`, the process dies, or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not server.alive():
            raise ServerDidNotStart(
                f"ringcast exited with {server.proc.returncode} before it was ready; "
                f"log {server.log_path}:\n{tail(server.log_path)}"
            )
        try:
            status, body = http_get(server.url + "/", timeout=1.0)
            if status == 200 and body.strip() == "OK":
                return
            last = f"{status} {body[:80]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    raise ServerDidNotStart(
        f"ringcast not ready after {timeout}s (last: {last}); log {server.log_path}:\n"
        f"{tail(server.log_path)}"
    )


class ServerFactory:
    """Starts servers for one test and stops them all at its end."""

    def __init__(self, test_name: str):
        self.test_name = safe_name(test_name)
        self.servers: list[RingcastServer] = []

    def _log_path(self) -> Path:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        n = len(self.servers)
        suffix = "" if n == 0 else f"-{n + 1}"
        return LOG_DIR / f"py-{self.test_name}{suffix}.log"

    def __call__(
        self,
        args: Optional[list] = None,
        env: Optional[dict] = None,
        dev: bool = True,
        wait: bool = True,
    ) -> RingcastServer:
        binary = ringcast_bin()
        if not binary.exists():
            pytest.fail(f"ringcast binary not found at {binary} (set RINGCAST_BIN)")
        port = free_port(socket.SOCK_STREAM)
        udp_port = free_port(socket.SOCK_DGRAM)
        cmd = [str(binary)]
        if dev:
            cmd.append("--dev")
        cmd += ["--port", str(port), "--udp-port", str(udp_port)]
        cmd += [str(a) for a in (args or [])]
        log_path = self._log_path()
        log_file = open(log_path, "wb")
        log_file.write(("$ " + " ".join(cmd) + "\n").encode())
        log_file.flush()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=server_env(env),
            cwd=REPO,
        )
        log_file.close()
        server = RingcastServer(proc, port, udp_port, log_path, cmd)
        self.servers.append(server)
        if wait:
            wait_ready(server)
        return server

    def stop_all(self) -> None:
        for s in self.servers:
            s.stop()


@pytest.fixture
def start_server(request) -> Iterator[Callable[..., RingcastServer]]:
    factory = ServerFactory(request.node.name)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def server(start_server) -> RingcastServer:
    return start_server()


@pytest.fixture
def run_ringcast() -> Callable[..., subprocess.CompletedProcess]:
    def run(args: list, env: Optional[dict] = None, timeout: float = 15.0):
        binary = ringcast_bin()
        if not binary.exists():
            pytest.fail(f"ringcast binary not found at {binary} (set RINGCAST_BIN)")
        return subprocess.run(
            [str(binary)] + [str(a) for a in args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=server_env(env),
            cwd=REPO,
            timeout=timeout,
        )

    return run


# --- per-test time bound -----------------------------------------------------


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "timeout(seconds): fail the test if it runs longer (default 60 s)"
    )


class TimeBoundExceeded(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    marker = item.get_closest_marker("timeout")
    seconds = int(marker.args[0]) if marker else DEFAULT_TEST_TIMEOUT_S

    def on_alarm(signum, frame):
        raise TimeBoundExceeded(f"{item.nodeid} ran longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        factory = item.funcargs.get("start_server")
        for s in getattr(factory, "servers", []):
            report.sections.append((f"ringcast log {s.log_path}", tail(s.log_path, 60)))
