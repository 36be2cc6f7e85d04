"""The `ringcast` command line as a drop-in for `livekit-server`: its
subcommands, key sources and config error handling."""

from __future__ import annotations

import re
import subprocess

import pytest
from livekit import api

from support import DEV_KEY, DEV_SECRET, JWT_RE

SECRET_K1 = "k1-secret-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_K2 = "k2-secret-0123456789abcdefghijklmnopqrstuvwxyz"


def combined(proc: subprocess.CompletedProcess) -> str:
    return (proc.stdout or "") + (proc.stderr or "")


def mint_token_with_cli(run_ringcast, key_args: list, room: str, identity: str) -> str:
    """Runs create-join-token with the key flags before the subcommand (the
    livekit-server way) or after it; returns the JWT it printed."""
    attempts = [
        key_args + ["create-join-token", "--room", room, "--identity", identity],
        ["create-join-token", "--room", room, "--identity", identity] + key_args,
    ]
    outputs = []
    for args in attempts:
        proc = run_ringcast(args)
        found = JWT_RE.findall(proc.stdout) or JWT_RE.findall(combined(proc))
        if proc.returncode == 0 and found:
            return found[-1]
        outputs.append(f"$ ringcast {' '.join(args)}\nexit {proc.returncode}\n{combined(proc)}")
    pytest.fail("create-join-token printed no token:\n" + "\n".join(outputs))


def test_create_join_token_with_dev_keys_verifies_with_the_python_sdk(run_ringcast):
    token = mint_token_with_cli(run_ringcast, ["--dev"], "r1", "alice")
    claims = api.TokenVerifier(DEV_KEY, DEV_SECRET).verify(token)
    assert claims.identity == "alice"
    assert claims.video.room == "r1"
    assert claims.video.room_join is True


def test_create_join_token_uses_the_key_given_with_keys(run_ringcast):
    token = mint_token_with_cli(run_ringcast, ["--keys", f"k9: {SECRET_K1}"], "r2", "bob")
    claims = api.TokenVerifier("k9", SECRET_K1).verify(token)
    assert claims.identity == "bob"
    assert claims.video.room == "r2"
    assert claims.video.room_join is True
    with pytest.raises(Exception):
        api.TokenVerifier(DEV_KEY, DEV_SECRET).verify(token)


def parse_generated_keys(text: str) -> tuple[str, str]:
    key = re.search(r"API Key:\s*(\S+)", text, re.IGNORECASE)
    secret = re.search(r"API Secret:\s*(\S+)", text, re.IGNORECASE)
    assert key and secret, f"no 'API Key:'/'API Secret:' lines in:\n{text}"
    return key.group(1), secret.group(1)


def test_generate_keys_prints_a_fresh_key_and_long_secret(run_ringcast):
    first = run_ringcast(["generate-keys"])
    second = run_ringcast(["generate-keys"])
    assert first.returncode == 0, combined(first)
    key1, secret1 = parse_generated_keys(combined(first))
    key2, secret2 = parse_generated_keys(combined(second))
    assert len(secret1) >= 32
    assert (key1, secret1) != (key2, secret2), "keys must be random"


async def test_generated_keys_work_as_server_keys(run_ringcast, start_server):
    key, secret = parse_generated_keys(combined(run_ringcast(["generate-keys"])))
    server = start_server(args=["--keys", f"{key}: {secret}"])
    async with api.LiveKitAPI(server.url, key, secret) as lk:
        resp = await lk.room.list_rooms(api.ListRoomsRequest())
    assert list(resp.rooms) == []


async def accepts(server, key: str, secret: str) -> bool:
    async with api.LiveKitAPI(server.url, key, secret) as lk:
        try:
            await lk.room.list_rooms(api.ListRoomsRequest())
            return True
        except api.TwirpError as e:
            assert e.status in (401, 403), str(e)
            return False


async def test_keys_from_config_body_replace_the_dev_key(start_server):
    server = start_server(args=["--config-body", f"keys: {{k1: {SECRET_K1}}}"])
    assert await accepts(server, "k1", SECRET_K1)
    assert not await accepts(server, DEV_KEY, DEV_SECRET)


async def test_keys_from_livekit_keys_env_are_accepted_without_dev(start_server):
    server = start_server(dev=False, env={"LIVEKIT_KEYS": f"k2: {SECRET_K2}"})
    assert await accepts(server, "k2", SECRET_K2)
    assert not await accepts(server, DEV_KEY, DEV_SECRET)


async def test_keys_flag_is_accepted(start_server):
    server = start_server(args=["--keys", f"k3: {SECRET_K1}"])
    assert await accepts(server, "k3", SECRET_K1)
    assert not await accepts(server, DEV_KEY, DEV_SECRET)


def test_version_flag_prints_a_version(run_ringcast):
    proc = run_ringcast(["--version"])
    assert proc.returncode == 0, combined(proc)
    assert re.search(r"\d+\.\d+\.\d+", combined(proc)), combined(proc)


def expect_startup_failure(run_ringcast, args: list) -> str:
    try:
        proc = run_ringcast(args, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ringcast {' '.join(args)} kept running despite a bad config")
    assert proc.returncode != 0, combined(proc)
    return combined(proc)


def test_config_file_with_wrong_type_stops_startup_naming_the_key(run_ringcast, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("port: abc\n")
    out = expect_startup_failure(run_ringcast, ["--dev", "--config", str(cfg)])
    assert "port" in out, out


def test_config_body_with_wrong_type_stops_startup_naming_the_key(run_ringcast):
    out = expect_startup_failure(
        run_ringcast, ["--dev", "--config-body", "rtc:\n  tcp_port: [1, 2]\n"]
    )
    assert "tcp_port" in out, out


async def test_unknown_config_key_only_warns(start_server):
    server = start_server(args=["--config-body", "not_a_real_key: 1\n"])
    async with api.LiveKitAPI(server.url, DEV_KEY, DEV_SECRET) as lk:
        await lk.room.list_rooms(api.ListRoomsRequest())
    assert "not_a_real_key" in server.log()


async def test_config_file_keys_and_room_defaults_are_used(start_server, tmp_path):
    cfg = tmp_path / "ok.yaml"
    cfg.write_text(f"keys:\n  filekey: {SECRET_K1}\nroom:\n  empty_timeout: 42\n")
    server = start_server(args=["--config", str(cfg)])
    assert await accepts(server, "filekey", SECRET_K1)
    assert not await accepts(server, DEV_KEY, DEV_SECRET)
    # A room created without empty_timeout gets the configured default, as in LiveKit.
    async with api.LiveKitAPI(server.url, "filekey", SECRET_K1) as lk:
        room = await lk.room.create_room(api.CreateRoomRequest(name="defaults"))
    assert room.empty_timeout == 42
