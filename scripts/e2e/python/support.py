"""Small helpers shared by the Python suites: tokens, raw Twirp calls, and
assertions on Twirp errors. Fixtures live in conftest.py."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import re
import time
from typing import Optional

import aiohttp
from livekit import api

DEV_KEY = "devkey"
DEV_SECRET = "secret"

JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

# LiveKit answers a missing or insufficient grant with `unauthenticated` (401);
# `permission_denied` (403) is the other Twirp code a server may reasonably use.
AUTH_CODES = {"unauthenticated", "permission_denied"}
AUTH_STATUSES = {401, 403}


def admin_token(key: str = DEV_KEY, secret: str = DEV_SECRET, **grants) -> str:
    """A token with room create/list/admin rights, as the server SDKs mint."""
    video = dict(room_create=True, room_list=True, room_admin=True)
    video.update(grants)
    return api.AccessToken(key, secret).with_grants(api.VideoGrants(**video)).to_jwt()


def join_token(
    room: str = "r1",
    identity: str = "alice",
    key: str = DEV_KEY,
    secret: str = DEV_SECRET,
    ttl: Optional[datetime.timedelta] = None,
) -> str:
    """A token that may join one room and do nothing else."""
    tok = (
        api.AccessToken(key, secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
    )
    if ttl is not None:
        tok.with_ttl(ttl)
    return tok.to_jwt()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hand_made_hs256(claims: dict, secret: str) -> str:
    """An HS256 JWT signed with the stdlib, for claims the SDK refuses to mint."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{body}".encode()
    sig = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(sig)}"


def expired_admin_token(key: str = DEV_KEY, secret: str = DEV_SECRET) -> str:
    """Expired ten minutes ago: well past LiveKit's 60 s leeway."""
    now = int(time.time())
    return hand_made_hs256(
        {
            "iss": key,
            "sub": "",
            "nbf": now - 3600,
            "exp": now - 600,
            "video": {"roomCreate": True, "roomList": True, "roomAdmin": True},
        },
        secret,
    )


def twirp_url(base: str, method: str) -> str:
    return f"{base}/twirp/livekit.RoomService/{method}"


async def raw_twirp(
    base: str,
    method: str,
    body: bytes,
    content_type: str = "application/protobuf",
    token: Optional[str] = None,
) -> tuple[int, str, bytes]:
    """POSTs `body` to a RoomService method; returns (status, content-type, body)."""
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(twirp_url(base, method), data=body, headers=headers) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


def assert_auth_error(err: api.TwirpError) -> None:
    """The SDK's error for a rejected credential: 401/403 with a Twirp auth code."""
    assert err.status in AUTH_STATUSES, f"status {err.status}: {err}"
    assert err.code in AUTH_CODES, f"code {err.code!r}: {err}"
