"""Who may call the server API: bad, foreign, expired and under-privileged
tokens are refused the way LiveKit refuses them, and bad bodies never take
the server down."""

from __future__ import annotations

import datetime
import json

import aiohttp
import pytest
from livekit import api

from support import (
    AUTH_CODES,
    DEV_KEY,
    DEV_SECRET,
    admin_token,
    assert_auth_error,
    expired_admin_token,
    join_token,
    raw_twirp,
)


async def list_rooms_with(server, **creds) -> api.ListRoomsResponse:
    async with api.LiveKitAPI(server.url, **creds) as lk:
        return await lk.room.list_rooms(api.ListRoomsRequest())


async def list_rooms_with_token(server, token: str) -> api.ListRoomsResponse:
    async with api.LiveKitAPI.with_token(token, server.url) as lk:
        return await lk.room.list_rooms(api.ListRoomsRequest())


async def test_dev_key_and_secret_are_accepted(server):
    resp = await list_rooms_with(server, api_key=DEV_KEY, api_secret=DEV_SECRET)
    assert list(resp.rooms) == []


async def test_wrong_secret_is_rejected(server):
    with pytest.raises(api.TwirpError) as info:
        await list_rooms_with(server, api_key=DEV_KEY, api_secret="not-the-secret-at-all-0123456789")
    assert_auth_error(info.value)


async def test_unknown_api_key_is_rejected(server):
    with pytest.raises(api.TwirpError) as info:
        await list_rooms_with(server, api_key="nosuchkey", api_secret=DEV_SECRET)
    assert_auth_error(info.value)


async def test_expired_token_is_rejected(server):
    with pytest.raises(api.TwirpError) as info:
        await list_rooms_with_token(server, expired_admin_token())
    assert_auth_error(info.value)


async def test_token_minted_with_negative_ttl_is_rejected(server):
    token = (
        api.AccessToken(DEV_KEY, DEV_SECRET)
        .with_ttl(datetime.timedelta(minutes=-10))
        .with_grants(api.VideoGrants(room_list=True))
        .to_jwt()
    )
    with pytest.raises(api.TwirpError) as info:
        await list_rooms_with_token(server, token)
    assert_auth_error(info.value)


async def test_join_only_token_cannot_list_rooms(server):
    with pytest.raises(api.TwirpError) as info:
        await list_rooms_with_token(server, join_token("r1", "alice"))
    assert_auth_error(info.value)


async def test_join_only_token_cannot_create_rooms(server):
    async with api.LiveKitAPI.with_token(join_token("r1", "alice"), server.url) as lk:
        with pytest.raises(api.TwirpError) as info:
            await lk.room.create_room(api.CreateRoomRequest(name="r1"))
    assert_auth_error(info.value)


async def test_request_without_token_is_unauthenticated(server):
    status, ctype, body = await raw_twirp(
        server.url, "ListRooms", api.ListRoomsRequest().SerializeToString()
    )
    assert status in (401, 403), (status, body[:200])
    # No token at all reaches Twirp in LiveKit, which answers with JSON.
    assert ctype.split(";")[0].strip() == "application/json", ctype
    assert json.loads(body)["code"] in AUTH_CODES


async def test_malformed_protobuf_body_is_a_400_and_server_keeps_serving(server):
    status, ctype, body = await raw_twirp(
        server.url, "CreateRoom", b"\xff\xff\xff\xff\xff", token=admin_token()
    )
    assert status == 400, (status, body[:200])
    # Node compares the header with ===, so it must be exactly this.
    assert ctype == "application/json", ctype
    err = json.loads(body)
    assert err["code"] in ("invalid_argument", "malformed"), err
    assert isinstance(err.get("msg"), str)

    resp = await list_rooms_with(server, api_key=DEV_KEY, api_secret=DEV_SECRET)
    assert list(resp.rooms) == []


async def test_malformed_json_body_is_a_400(server):
    status, ctype, body = await raw_twirp(
        server.url, "CreateRoom", b"{not json", content_type="application/json", token=admin_token()
    )
    assert status == 400, (status, body[:200])
    assert ctype == "application/json", ctype
    assert json.loads(body)["code"] in ("invalid_argument", "malformed")
    assert server.alive()


async def test_unknown_method_is_bad_route(server):
    status, ctype, body = await raw_twirp(
        server.url, "NoSuchMethod", b"", token=admin_token()
    )
    assert status == 404, (status, body[:200])
    assert json.loads(body)["code"] == "bad_route"


async def validate(server, token: str, via: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        if via == "query":  # what livekit-client (JS) does
            req = session.get(f"{server.url}/rtc/validate", params={"access_token": token})
        else:  # what the Rust/Python client SDKs do
            req = session.get(
                f"{server.url}/rtc/validate", headers={"Authorization": f"Bearer {token}"}
            )
        async with req as resp:
            return resp.status, await resp.text()


@pytest.mark.parametrize("via", ["query", "header"])
async def test_rtc_validate_accepts_a_good_join_token(server, via):
    status, body = await validate(server, join_token("r1", "alice"), via)
    assert status == 200, body
    assert body.strip() == "success"


@pytest.mark.parametrize("via", ["query", "header"])
async def test_rtc_validate_rejects_a_badly_signed_token(server, via):
    bad = join_token("r1", "alice", secret="wrong-secret-wrong-secret-wrong-secret")
    status, body = await validate(server, bad, via)
    assert status == 401, body
