//! Shared helpers for the twirp_* and http_* tests: an app with the dev key,
//! token minting and one-shot requests.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use ringcast_controlplane::config::Config;
use ringcast_controlplane::http::router;
use ringcast_controlplane::server::AppState;
use serde_json::{json, Value};
use tower::ServiceExt;

pub const KEY: &str = "devkey";
pub const SECRET: &str = "secret";

pub fn config() -> Config {
    let mut c = Config::default();
    c.keys.insert(KEY.into(), SECRET.into());
    c
}

pub fn app_with(config: Config) -> (Router, AppState) {
    let state = AppState::new(config);
    (router(state.clone()), state)
}

pub fn app() -> (Router, AppState) {
    app_with(config())
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// HS256 token with the given `video` grant, signed with `secret`, expiring
/// at `exp`.
pub fn token_full(video: Value, sub: &str, secret: &str, exp: u64) -> String {
    let claims = json!({
        "iss": KEY, "sub": sub, "nbf": now() - 10, "exp": exp, "video": video,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("test token signs")
}

pub fn token(video: Value) -> String {
    token_full(video, "tester", SECRET, now() + 600)
}

pub fn admin_token() -> String {
    token(json!({"roomCreate": true, "roomList": true}))
}

pub async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone()
        .oneshot(req)
        .await
        .expect("router is infallible")
}

pub async fn body_bytes(resp: Response<Body>) -> Vec<u8> {
    axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body reads")
        .to_vec()
}

pub fn twirp_req(
    method: &str,
    content_type: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut b = Request::post(format!("/twirp/livekit.RoomService/{method}"))
        .header("content-type", content_type);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::from(body)).expect("request builds")
}

/// Posts a JSON twirp call and returns status, content-type and JSON body.
pub async fn twirp_json(
    app: &Router,
    method: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, String, Value) {
    let resp = send(
        app,
        twirp_req(
            method,
            "application/json;charset=UTF-8",
            token,
            body.to_string().into_bytes(),
        ),
    )
    .await;
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = body_bytes(resp).await;
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, ct, v)
}
