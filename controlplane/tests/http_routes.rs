//! Health check, validate endpoints, CORS and the plain `/rtc` 404s.

mod twirp_util;

use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use twirp_util::*;

async fn get(app: &axum::Router, uri: &str, bearer: Option<&str>) -> (u16, String, Option<String>) {
    let mut b = Request::get(uri);
    if let Some(t) = bearer {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let resp = send(app, b.body(Body::empty()).expect("request builds")).await;
    let status = resp.status().as_u16();
    let acao = resp
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = String::from_utf8_lossy(&body_bytes(resp).await).into_owned();
    (status, body, acao)
}

fn join_token(room: &str) -> String {
    token(json!({"roomJoin": true, "room": room}))
}

#[tokio::test]
async fn health_check_says_ok() {
    let (app, _) = app();
    let (s, body, acao) = get(&app, "/", None).await;
    assert_eq!((s, body.as_str()), (200, "OK"));
    assert_eq!(acao.as_deref(), Some("*"));
}

#[tokio::test]
async fn validate_accepts_header_and_query_tokens() {
    let (app, _) = app();
    let t = join_token("r");
    assert_eq!(get(&app, "/rtc/validate", Some(&t)).await.0, 200);
    let (s, body, acao) = get(&app, &format!("/rtc/validate?access_token={t}"), None).await;
    assert_eq!((s, body.as_str()), (200, "success"));
    assert_eq!(acao.as_deref(), Some("*"));
    let (s, body, _) = get(
        &app,
        &format!("/rtc/v1/validate?access_token={t}&join_request=AAAA"),
        None,
    )
    .await;
    assert_eq!((s, body.as_str()), (200, "success"));
}

#[tokio::test]
async fn validate_v1_requires_join_request() {
    let (app, _) = app();
    let (s, body, acao) = get(&app, "/rtc/v1/validate", Some(&join_token("r"))).await;
    assert_eq!((s, body.as_str()), (400, "join_request is required"));
    assert_eq!(acao.as_deref(), Some("*"));
}

#[tokio::test]
async fn validate_refusals_use_livekit_statuses() {
    let (app, _) = app();
    let (s, body, acao) = get(&app, "/rtc/validate", None).await;
    assert_eq!(
        (s, body.as_str()),
        (401, "no permissions to access the room")
    );
    assert_eq!(acao.as_deref(), Some("*"));

    let bad = token_full(
        json!({"roomJoin": true, "room": "r"}),
        "u",
        "wrong",
        now() + 600,
    );
    let (s, body, _) = get(&app, "/rtc/validate", Some(&bad)).await;
    assert_eq!(s, 401);
    assert!(body.starts_with("invalid authorization token"), "{body}");

    let admin = token(json!({"roomAdmin": true, "room": "r"}));
    let (s, body, _) = get(&app, "/rtc/validate", Some(&admin)).await;
    assert_eq!((s, body.as_str()), (401, "permissions denied"));

    let no_room = token(json!({"roomJoin": true}));
    assert_eq!(get(&app, "/rtc/validate", Some(&no_room)).await.0, 400);

    let no_identity = token_full(
        json!({"roomJoin": true, "room": "r"}),
        "",
        SECRET,
        now() + 600,
    );
    assert_eq!(get(&app, "/rtc/validate", Some(&no_identity)).await.0, 400);

    let req = Request::get("/rtc/validate")
        .header("authorization", "Basic abc")
        .body(Body::empty())
        .expect("request builds");
    assert_eq!(send(&app, req).await.status(), 401);
}

#[tokio::test]
async fn validate_needs_existing_room_without_auto_create() {
    let mut c = config();
    c.room.auto_create = false;
    let (app, state) = app_with(c);
    let t = join_token("closed");
    let (s, body, acao) = get(&app, "/rtc/validate", Some(&t)).await;
    assert_eq!((s, body.as_str()), (404, "requested room does not exist"));
    assert_eq!(acao.as_deref(), Some("*"));
    state.rooms.create("closed", Default::default());
    assert_eq!(get(&app, "/rtc/validate", Some(&t)).await.0, 200);
}

#[tokio::test]
async fn plain_rtc_get_is_empty_404_with_cors() {
    let (app, _) = app();
    for path in ["/rtc", "/rtc/v1", "/no/such/path"] {
        let (s, body, acao) = get(&app, path, None).await;
        assert_eq!(s, 404, "{path}");
        assert!(body.is_empty(), "{path}: {body}");
        assert_eq!(acao.as_deref(), Some("*"), "{path}");
    }
}

#[tokio::test]
async fn preflight_is_answered_with_allow_headers() {
    let (app, _) = app();
    let req = Request::builder()
        .method("OPTIONS")
        .uri("/twirp/livekit.RoomService/ListRooms")
        .header("origin", "http://example.com")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .expect("request builds");
    let resp = send(&app, req).await;
    assert!(resp.status().is_success());
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    let allow = h["access-control-allow-headers"]
        .to_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    assert!(
        allow.contains("authorization")
            && allow.contains("content-type")
            && allow.contains("x-livekit-request-id")
    );
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap_or("")
        .contains("POST"));
}

#[tokio::test]
async fn twirp_errors_carry_cors_header() {
    let (app, _) = app();
    let resp = send(
        &app,
        twirp_req("ListRooms", "application/json", None, b"{}".to_vec()),
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
}
