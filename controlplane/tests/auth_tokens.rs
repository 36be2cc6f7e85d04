//! Token verification against tokens minted the way the LiveKit server SDKs
//! mint them, and the refusals LiveKit gives.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ringcast_controlplane::auth::{
    mint, mint_at, unix_now, AuthError, Claims, KeyProvider, VideoGrant,
};
use serde_json::json;

const KEY: &str = "APIkey123";
const SECRET: &str = "0123456789abcdef0123456789abcdef01";

fn provider() -> KeyProvider {
    let mut keys = BTreeMap::new();
    keys.insert(KEY.to_string(), SECRET.to_string());
    keys.insert("devkey".to_string(), "secret".to_string());
    KeyProvider::new(keys)
}

/// Signs a JSON payload with a plain JWT library call, so the tests do not
/// depend on our own minting.
fn sign_hs(alg: jsonwebtoken::Algorithm, payload: &serde_json::Value, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), payload, &key).unwrap()
}

/// A token shaped like livekit-api (Python) / livekit-server-sdk (Node) output.
fn sdk_token(exp_offset: i64, nbf_offset: i64, secret: &str, iss: &str) -> String {
    let now = unix_now() as i64;
    let payload = json!({
        "iss": iss,
        "sub": "alice",
        "nbf": now + nbf_offset,
        "exp": now + exp_offset,
        "name": "Alice",
        "metadata": "{\"m\":1}",
        "attributes": {"role": "host"},
        "kind": "standard",
        "video": {
            "roomJoin": true,
            "room": "my-room",
            "canPublish": true,
            "canSubscribe": true,
            "canPublishData": true,
            "canPublishSources": ["camera", "microphone"],
            "canUpdateOwnMetadata": true
        },
        "roomConfig": {"name": "my-room", "emptyTimeout": 10}
    });
    sign_hs(jsonwebtoken::Algorithm::HS256, &payload, secret)
}

#[test]
fn accepts_token_minted_like_livekit_sdks() {
    let claims = provider().verify(&sdk_token(3600, 0, SECRET, KEY)).unwrap();
    assert_eq!(claims.iss, KEY);
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.identity(), "alice");
    assert_eq!(claims.name, "Alice");
    assert_eq!(claims.metadata, "{\"m\":1}");
    assert_eq!(
        claims.attributes.get("role").map(String::as_str),
        Some("host")
    );
    assert_eq!(claims.kind, "standard");
    assert!(claims.room_config.is_some());
    let v = claims.video_grant();
    assert!(v.room_join);
    assert_eq!(v.room, "my-room");
    assert!(v.can_publish_source("camera"));
    assert!(!v.can_publish_source("screen_share"));
    assert!(v.can_update_own_metadata());
}

#[test]
fn rejects_wrong_secret() {
    let e = provider()
        .verify(&sdk_token(3600, 0, "another-secret-another-secret-xx", KEY))
        .unwrap_err();
    assert!(matches!(e, AuthError::InvalidToken(_)), "{e:?}");
    assert!(
        e.reason().starts_with("invalid authorization token: "),
        "{}",
        e.reason()
    );
}

#[test]
fn rejects_unknown_api_key() {
    let e = provider()
        .verify(&sdk_token(3600, 0, SECRET, "APIunknown"))
        .unwrap_err();
    assert_eq!(e, AuthError::InvalidApiKey);
    assert_eq!(e.reason(), "invalid API key");
}

#[test]
fn rejects_expired_beyond_leeway() {
    let e = provider()
        .verify(&sdk_token(-120, -3600, SECRET, KEY))
        .unwrap_err();
    assert!(
        matches!(e, AuthError::InvalidToken(ref d) if d.contains("expired")),
        "{e:?}"
    );
}

#[test]
fn accepts_just_expired_within_leeway() {
    assert!(provider()
        .verify(&sdk_token(-30, -3600, SECRET, KEY))
        .is_ok());
}

#[test]
fn rejects_nbf_in_future_beyond_leeway() {
    let e = provider()
        .verify(&sdk_token(7200, 600, SECRET, KEY))
        .unwrap_err();
    assert!(
        matches!(e, AuthError::InvalidToken(ref d) if d.contains("nbf")),
        "{e:?}"
    );
    // Within the 60 s leeway it passes.
    assert!(provider().verify(&sdk_token(7200, 30, SECRET, KEY)).is_ok());
}

#[test]
fn requires_exp() {
    let payload = json!({"iss": KEY, "sub": "a", "video": {"roomJoin": true, "room": "r"}});
    let t = sign_hs(jsonwebtoken::Algorithm::HS256, &payload, SECRET);
    let e = provider().verify(&t).unwrap_err();
    assert!(
        matches!(e, AuthError::InvalidToken(ref d) if d.contains("exp")),
        "{e:?}"
    );
}

#[test]
fn rejects_malformed() {
    for t in [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "not.a.jwt.at.all",
        "eyJhbGciOiJIUzI1NiJ9.%%%.sig",
    ] {
        let e = provider().verify(t).unwrap_err();
        assert_eq!(e, AuthError::MalformedToken, "{t:?}");
        assert_eq!(e.reason(), "invalid authorization token");
    }
}

#[test]
fn rejects_alg_none() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(
        json!({"iss": KEY, "sub": "a", "exp": unix_now() + 3600, "video": {"roomJoin": true, "room": "r"}})
            .to_string(),
    );
    for t in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert!(provider().verify(&t).is_err(), "{t}");
    }
}

#[test]
fn rejects_hs512_even_with_right_secret() {
    let payload = json!({"iss": KEY, "sub": "a", "exp": unix_now() + 3600, "video": {"roomJoin": true, "room": "r"}});
    let t = sign_hs(jsonwebtoken::Algorithm::HS512, &payload, SECRET);
    let e = provider().verify(&t).unwrap_err();
    assert!(
        matches!(e, AuthError::InvalidToken(ref d) if d.contains("HS256")),
        "{e:?}"
    );
}

#[test]
fn grant_defaults_follow_livekit() {
    let payload = json!({"iss": KEY, "sub": "a", "exp": unix_now() + 3600, "video": {"roomJoin": true, "room": "r"}});
    let v = provider()
        .verify(&sign_hs(jsonwebtoken::Algorithm::HS256, &payload, SECRET))
        .unwrap()
        .video_grant();
    assert!(v.can_publish() && v.can_subscribe() && v.can_publish_data());
    assert!(!v.can_update_own_metadata() && !v.can_subscribe_metrics() && !v.hidden);

    let payload = json!({"iss": KEY, "sub": "a", "exp": unix_now() + 3600,
        "video": {"roomJoin": true, "room": "r", "canPublish": false}});
    let v = provider()
        .verify(&sign_hs(jsonwebtoken::Algorithm::HS256, &payload, SECRET))
        .unwrap()
        .video_grant();
    assert!(
        !v.can_publish() && !v.can_publish_data(),
        "canPublishData follows canPublish"
    );
    assert!(!v.can_publish_source("camera"));

    let payload = json!({"iss": KEY, "sub": "a", "exp": unix_now() + 3600,
        "video": {"roomJoin": true, "room": "r", "canPublish": false, "canPublishData": true}});
    let v = provider()
        .verify(&sign_hs(jsonwebtoken::Algorithm::HS256, &payload, SECRET))
        .unwrap()
        .video_grant();
    assert!(v.can_publish_data());
}

#[test]
fn null_claims_are_read_as_defaults() {
    let payload = json!({"iss": KEY, "sub": "a", "exp": unix_now() + 3600, "name": null,
        "video": {"roomJoin": true, "room": "r", "hidden": null, "canPublish": null}});
    let c = provider()
        .verify(&sign_hs(jsonwebtoken::Algorithm::HS256, &payload, SECRET))
        .unwrap();
    assert!(c.name.is_empty() && !c.video_grant().hidden && c.video_grant().can_publish());
}

#[test]
fn identity_falls_back_to_jti() {
    let payload = json!({"iss": KEY, "jti": "from-jti", "exp": unix_now() + 3600});
    let c = provider()
        .verify(&sign_hs(jsonwebtoken::Algorithm::HS256, &payload, SECRET))
        .unwrap();
    assert_eq!(c.identity(), "from-jti");
}

#[test]
fn minted_token_round_trips_with_iss_nbf_exp() {
    let claims = Claims {
        sub: "bob".into(),
        video: Some(VideoGrant {
            room_join: true,
            room: "r".into(),
            hidden: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    let before = unix_now();
    let t = mint(KEY, SECRET, &claims, Duration::from_secs(600)).unwrap();
    let c = provider().verify(&t).unwrap();
    assert_eq!(c.iss, KEY);
    let nbf = c.nbf.unwrap();
    assert!(nbf >= before && nbf <= unix_now());
    assert_eq!(c.exp.unwrap(), nbf + 600);
    assert!(c.video_grant().hidden);
    // The header says HS256/JWT, as livekit tokens do.
    let h = jsonwebtoken::decode_header(&t).unwrap();
    assert_eq!(h.alg, jsonwebtoken::Algorithm::HS256);
}

#[test]
fn explicit_clock_checks_exp_and_nbf() {
    let claims = Claims {
        sub: "x".into(),
        ..Default::default()
    };
    let t = mint_at(KEY, SECRET, &claims, Duration::from_secs(100), 1_000_000).unwrap();
    let p = provider();
    assert!(p.verify_at(&t, Some(1_000_050)).is_ok());
    assert!(p.verify_at(&t, Some(1_000_100 + 59)).is_ok());
    assert!(p.verify_at(&t, Some(1_000_100 + 61)).is_err());
    assert!(p.verify_at(&t, Some(1_000_000 - 59)).is_ok());
    assert!(p.verify_at(&t, Some(1_000_000 - 61)).is_err());
}

#[test]
fn tampered_payload_is_rejected() {
    let t = sdk_token(3600, 0, SECRET, KEY);
    let parts: Vec<&str> = t.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["video"]["roomAdmin"] = json!(true);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert!(matches!(
        provider().verify(&forged),
        Err(AuthError::InvalidToken(_))
    ));
}

/// Minted by the real Python SDK (livekit-api 1.x):
/// `AccessToken("APIkey123", SECRET).with_identity("py-user").with_name("Py User")
/// .with_metadata("meta").with_attributes({"k": "v"}).with_ttl(60 years)
/// .with_grants(VideoGrants(room_join=True, room="py-room", can_publish=False,
/// can_publish_sources=["microphone"], hidden=True))`.
const PYTHON_SDK_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiUHkgVXNlciIsIm1ldGFkYXRhIjoibWV0YSIsInZpZGVvIjp7InJvb21Kb2luIjp0cnVlLCJyb29tIjoicHktcm9vbSIsImNhblB1Ymxpc2giOmZhbHNlLCJjYW5TdWJzY3JpYmUiOnRydWUsImNhblB1Ymxpc2hEYXRhIjp0cnVlLCJjYW5QdWJsaXNoU291cmNlcyI6WyJtaWNyb3Bob25lIl0sImhpZGRlbiI6dHJ1ZX0sImF0dHJpYnV0ZXMiOnsiayI6InYifSwic3ViIjoicHktdXNlciIsImlzcyI6IkFQSWtleTEyMyIsIm5iZiI6MTc5NTQ2NTg5MywiZXhwIjozNjg3NjI1ODkzfQ.uc8tQLV1duEFHlCmjty0FXbuUYcQU8tRY5e2QefLbnA";
const PYTHON_SDK_TOKEN_NBF: u64 = 1_795_465_893;

#[test]
fn accepts_token_minted_by_python_sdk() {
    let c = provider()
        .verify_at(PYTHON_SDK_TOKEN, Some(PYTHON_SDK_TOKEN_NBF + 10))
        .unwrap();
    assert_eq!(c.iss, KEY);
    assert_eq!(c.sub, "py-user");
    assert_eq!(c.name, "Py User");
    assert_eq!(c.metadata, "meta");
    assert_eq!(c.attributes.get("k").map(String::as_str), Some("v"));
    let v = c.video_grant();
    assert!(v.room_join && v.room == "py-room" && v.hidden);
    assert!(!v.can_publish() && v.can_subscribe());
    assert!(
        v.can_publish_data(),
        "Python writes canPublishData explicitly"
    );
    assert!(
        !v.can_publish_source("microphone"),
        "no publishing at all when canPublish is false"
    );
    // Before its nbf (beyond the leeway) the same token is refused.
    assert!(provider()
        .verify_at(PYTHON_SDK_TOKEN, Some(PYTHON_SDK_TOKEN_NBF - 120))
        .is_err());
}
