//! Token and grant failures, malformed bodies: all Twirp JSON errors with
//! `Content-Type: application/json` exactly, and the server keeps serving.

mod twirp_util;

use serde_json::json;
use twirp_util::*;

#[tokio::test]
async fn join_only_token_cannot_list_rooms() {
    let (app, _) = app();
    let t = token(json!({"roomJoin": true, "room": "r"}));
    let (s, ct, err) = twirp_json(&app, "ListRooms", Some(&t), json!({})).await;
    assert_eq!(s, 401);
    assert_eq!(ct, "application/json");
    assert_eq!(err["code"], "unauthenticated");
    assert_eq!(err["msg"], "permissions denied");
}

#[tokio::test]
async fn list_grant_cannot_create_or_delete() {
    let (app, _) = app();
    let t = token(json!({"roomList": true}));
    let (s, _, err) = twirp_json(&app, "CreateRoom", Some(&t), json!({"name": "r"})).await;
    assert_eq!(s, 401);
    assert_eq!(err["code"], "unauthenticated");
    let (s, _, _) = twirp_json(&app, "DeleteRoom", Some(&t), json!({"room": "r"})).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn wrong_secret_is_unauthenticated() {
    let (app, _) = app();
    let t = token_full(
        json!({"roomList": true}),
        "x",
        "not-the-secret",
        now() + 600,
    );
    let (s, ct, err) = twirp_json(&app, "ListRooms", Some(&t), json!({})).await;
    assert_eq!(s, 401);
    assert_eq!(ct, "application/json");
    assert_eq!(err["code"], "unauthenticated");
    assert!(
        err["msg"]
            .as_str()
            .unwrap_or("")
            .starts_with("invalid authorization token"),
        "{err}"
    );
}

#[tokio::test]
async fn expired_token_is_unauthenticated() {
    let (app, _) = app();
    let t = token_full(json!({"roomList": true}), "x", SECRET, now() - 3600);
    let (s, _, err) = twirp_json(&app, "ListRooms", Some(&t), json!({})).await;
    assert_eq!(s, 401);
    assert_eq!(err["code"], "unauthenticated");
}

#[tokio::test]
async fn missing_token_is_unauthenticated() {
    let (app, _) = app();
    let (s, ct, err) = twirp_json(&app, "ListRooms", None, json!({})).await;
    assert_eq!(s, 401);
    assert_eq!(ct, "application/json");
    assert_eq!(err["code"], "unauthenticated");
}

#[tokio::test]
async fn malformed_bodies_are_malformed_and_server_keeps_serving() {
    let (app, _) = app();
    let t = admin_token();
    let resp = send(
        &app,
        twirp_req(
            "CreateRoom",
            "application/json",
            Some(&t),
            b"{not json".to_vec(),
        ),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_slice(&body_bytes(resp).await).unwrap_or_default();
    assert_eq!(v["code"], "malformed");

    // Field 1 (name) as length-delimited with a length past the end.
    let resp = send(
        &app,
        twirp_req(
            "CreateRoom",
            "application/protobuf",
            Some(&t),
            vec![0x0a, 0x7f, 0x61],
        ),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_slice(&body_bytes(resp).await).unwrap_or_default();
    assert_eq!(v["code"], "malformed");

    let (s, _, room) = twirp_json(&app, "CreateRoom", Some(&t), json!({"name": "still-up"})).await;
    assert_eq!(s, 200);
    assert_eq!(room["name"], "still-up");
}

#[tokio::test]
async fn unsupported_content_type_is_bad_route() {
    let (app, _) = app();
    let resp = send(
        &app,
        twirp_req(
            "ListRooms",
            "text/plain",
            Some(&admin_token()),
            b"{}".to_vec(),
        ),
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "application/json");
}
