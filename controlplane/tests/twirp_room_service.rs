//! RoomService over Twirp, JSON and protobuf, through the real router.

mod twirp_util;

use livekit_protocol as proto;
use prost::Message;
use serde_json::json;
use twirp_util::*;

#[tokio::test]
async fn create_list_delete_rooms_in_json() {
    let (app, _) = app();
    let t = admin_token();
    let (s, ct, room) = twirp_json(
        &app,
        "CreateRoom",
        Some(&t),
        json!({"name": "alpha", "emptyTimeout": 30, "metadata": "m"}),
    )
    .await;
    assert_eq!(s, 200, "{room}");
    assert_eq!(ct, "application/json");
    assert_eq!(room["name"], "alpha");
    assert!(room["sid"].as_str().unwrap_or("").starts_with("RM_"));
    assert_eq!(room["emptyTimeout"], 30);
    assert_eq!(room["metadata"], "m");

    // snake_case is accepted too, and CreateRoom is idempotent.
    let (s, _, again) = twirp_json(
        &app,
        "CreateRoom",
        Some(&t),
        json!({"name": "alpha", "empty_timeout": 99}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(again["sid"], room["sid"]);
    twirp_json(&app, "CreateRoom", Some(&t), json!({"name": "beta"})).await;

    let (s, _, all) = twirp_json(&app, "ListRooms", Some(&t), json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(all["rooms"].as_array().map(Vec::len), Some(2));
    let (_, _, some) = twirp_json(
        &app,
        "ListRooms",
        Some(&t),
        json!({"names": ["beta", "nope"]}),
    )
    .await;
    let rooms = some["rooms"].as_array().cloned().unwrap_or_default();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["name"], "beta");

    let (s, _, _) = twirp_json(&app, "DeleteRoom", Some(&t), json!({"room": "alpha"})).await;
    assert_eq!(s, 200);
    let (s, ct, err) = twirp_json(&app, "DeleteRoom", Some(&t), json!({"room": "alpha"})).await;
    assert_eq!(s, 404);
    assert_eq!(ct, "application/json");
    assert_eq!(err["code"], "not_found");
    assert_eq!(err["msg"], "requested room does not exist");
}

#[tokio::test]
async fn create_and_list_rooms_in_protobuf() {
    let (app, _) = app();
    let t = admin_token();
    let req = proto::CreateRoomRequest {
        name: "pb".into(),
        max_participants: 7,
        ..Default::default()
    };
    let resp = send(
        &app,
        twirp_req(
            "CreateRoom",
            "application/protobuf",
            Some(&t),
            req.encode_to_vec(),
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/protobuf");
    let room = proto::Room::decode(body_bytes(resp).await.as_slice()).expect("Room decodes");
    assert_eq!(room.name, "pb");
    assert_eq!(room.max_participants, 7);
    assert_eq!(room.empty_timeout, 300);
    assert!(room.sid.starts_with("RM_"));
    assert!(room.creation_time > 0);

    let list = proto::ListRoomsRequest {
        names: vec!["pb".into()],
    };
    let resp = send(
        &app,
        twirp_req(
            "ListRooms",
            "application/protobuf",
            Some(&t),
            list.encode_to_vec(),
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rooms =
        proto::ListRoomsResponse::decode(body_bytes(resp).await.as_slice()).expect("decodes");
    assert_eq!(rooms.rooms.len(), 1);
    assert_eq!(rooms.rooms[0].sid, room.sid);
}

#[tokio::test]
async fn update_room_metadata_needs_admin_of_that_room() {
    let (app, _) = app();
    twirp_json(
        &app,
        "CreateRoom",
        Some(&admin_token()),
        json!({"name": "r1"}),
    )
    .await;
    let admin_r1 = token(json!({"roomAdmin": true, "room": "r1"}));
    let (s, _, room) = twirp_json(
        &app,
        "UpdateRoomMetadata",
        Some(&admin_r1),
        json!({"room": "r1", "metadata": "hello"}),
    )
    .await;
    assert_eq!(s, 200, "{room}");
    assert_eq!(room["metadata"], "hello");

    let admin_other = token(json!({"roomAdmin": true, "room": "other"}));
    let (s, _, err) = twirp_json(
        &app,
        "UpdateRoomMetadata",
        Some(&admin_other),
        json!({"room": "r1", "metadata": "x"}),
    )
    .await;
    assert_eq!(s, 401);
    assert_eq!(err["code"], "unauthenticated");

    // Protobuf, and the change is visible in ListRooms.
    let req = proto::UpdateRoomMetadataRequest {
        room: "r1".into(),
        metadata: "pb-meta".into(),
    };
    let resp = send(
        &app,
        twirp_req(
            "UpdateRoomMetadata",
            "application/protobuf",
            Some(&admin_r1),
            req.encode_to_vec(),
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let (_, _, list) = twirp_json(
        &app,
        "ListRooms",
        Some(&admin_token()),
        json!({"names": ["r1"]}),
    )
    .await;
    assert_eq!(list["rooms"][0]["metadata"], "pb-meta");
}

#[tokio::test]
async fn participant_calls_answer_not_found() {
    let (app, _) = app();
    twirp_json(
        &app,
        "CreateRoom",
        Some(&admin_token()),
        json!({"name": "r"}),
    )
    .await;
    let t = token(json!({"roomAdmin": true, "room": "r"}));
    let (s, _, list) = twirp_json(&app, "ListParticipants", Some(&t), json!({"room": "r"})).await;
    assert_eq!(s, 200);
    assert!(list
        .get("participants")
        .is_none_or(|p| p.as_array().is_some_and(Vec::is_empty)));
    for method in [
        "GetParticipant",
        "RemoveParticipant",
        "UpdateParticipant",
        "UpdateSubscriptions",
    ] {
        let (s, _, err) = twirp_json(
            &app,
            method,
            Some(&t),
            json!({"room": "r", "identity": "ghost"}),
        )
        .await;
        assert_eq!(s, 404, "{method}");
        assert_eq!(err["msg"], "participant does not exist", "{method}");
    }
    let (s, _, err) = twirp_json(
        &app,
        "MutePublishedTrack",
        Some(&t),
        json!({"room": "r", "identity": "ghost", "trackSid": "TR_x", "muted": true}),
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(err["code"], "not_found");
    let t2 = token(json!({"roomAdmin": true, "room": "missing"}));
    let (s, _, err) = twirp_json(
        &app,
        "GetParticipant",
        Some(&t2),
        json!({"room": "missing", "identity": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(err["msg"], "requested room does not exist");
}

#[tokio::test]
async fn send_data_checks_nonce_and_room() {
    let (app, _) = app();
    twirp_json(
        &app,
        "CreateRoom",
        Some(&admin_token()),
        json!({"name": "r"}),
    )
    .await;
    let t = token(json!({"roomAdmin": true, "room": "r"}));
    let ok = proto::SendDataRequest {
        room: "r".into(),
        data: b"hi".to_vec(),
        nonce: vec![7; 16],
        ..Default::default()
    };
    let resp = send(
        &app,
        twirp_req(
            "SendData",
            "application/protobuf",
            Some(&t),
            ok.encode_to_vec(),
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let bad = proto::SendDataRequest {
        room: "r".into(),
        nonce: vec![1; 5],
        ..Default::default()
    };
    let resp = send(
        &app,
        twirp_req(
            "SendData",
            "application/protobuf",
            Some(&t),
            bad.encode_to_vec(),
        ),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_slice(&body_bytes(resp).await).unwrap_or_default();
    assert_eq!(v["code"], "invalid_argument");
}

#[tokio::test]
async fn oversized_metadata_and_room_name_are_invalid_argument() {
    let mut c = config();
    c.limit.max_metadata_size = 8;
    c.limit.max_room_name_length = 5;
    let (app, _) = app_with(c);
    let t = admin_token();
    let (s, _, err) = twirp_json(
        &app,
        "CreateRoom",
        Some(&t),
        json!({"name": "ok", "metadata": "123456789"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(err["code"], "invalid_argument");
    assert_eq!(err["meta"]["limit"], "8");
    let (s, _, err) =
        twirp_json(&app, "CreateRoom", Some(&t), json!({"name": "toolongname"})).await;
    assert_eq!(s, 400);
    assert_eq!(err["code"], "invalid_argument");
}

#[tokio::test]
async fn unknown_method_and_get_are_bad_route() {
    let (app, _) = app();
    let (s, ct, err) = twirp_json(&app, "StartEgress", Some(&admin_token()), json!({})).await;
    assert_eq!(s, 404);
    assert_eq!(ct, "application/json");
    assert_eq!(err["code"], "bad_route");
    let req = axum::http::Request::get("/twirp/livekit.RoomService/ListRooms")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = send(&app, req).await;
    assert_eq!(resp.status(), 404);
    let v: serde_json::Value = serde_json::from_slice(&body_bytes(resp).await).unwrap_or_default();
    assert_eq!(v["code"], "bad_route");
}

#[tokio::test]
async fn body_over_api_limit_is_rejected() {
    let mut c = config();
    c.limit.max_api_request_body_size = 64;
    let (app, _) = app_with(c);
    let big = json!({"name": "r", "metadata": "x".repeat(200)});
    let (s, ct, err) = twirp_json(&app, "CreateRoom", Some(&admin_token()), big).await;
    assert_eq!(s, 400);
    assert_eq!(ct, "application/json");
    assert_eq!(err["code"], "malformed");
}

#[tokio::test]
async fn known_participant_can_be_read_updated_and_removed() {
    let (app, state) = app();
    twirp_json(
        &app,
        "CreateRoom",
        Some(&admin_token()),
        json!({"name": "r"}),
    )
    .await;
    let entry = ringcast_controlplane::rooms::ParticipantEntry {
        identity: "alice".into(),
        sid: "PA_alice0000000".into(),
        info: proto::ParticipantInfo {
            identity: "alice".into(),
            sid: "PA_alice0000000".into(),
            ..Default::default()
        },
    };
    state
        .rooms
        .participant_joined("r", entry)
        .expect("room exists");
    let t = token(json!({"roomAdmin": true, "room": "r"}));
    let (s, _, info) = twirp_json(
        &app,
        "GetParticipant",
        Some(&t),
        json!({"room": "r", "identity": "alice"}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(info["sid"], "PA_alice0000000");
    let (s, _, info) = twirp_json(
        &app,
        "UpdateParticipant",
        Some(&t),
        json!({"room": "r", "identity": "alice", "metadata": "new", "attributes": {"k": "v"}}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(info["metadata"], "new");
    assert_eq!(info["attributes"]["k"], "v");
    let (_, _, list) = twirp_json(&app, "ListParticipants", Some(&t), json!({"room": "r"})).await;
    assert_eq!(list["participants"][0]["metadata"], "new");
    let (s, _, _) = twirp_json(
        &app,
        "RemoveParticipant",
        Some(&t),
        json!({"room": "r", "identity": "alice"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = twirp_json(
        &app,
        "GetParticipant",
        Some(&t),
        json!({"room": "r", "identity": "alice"}),
    )
    .await;
    assert_eq!(s, 404);
}
