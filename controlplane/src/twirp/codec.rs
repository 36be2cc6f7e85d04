//! Request and response bodies: binary protobuf (Python SDK) or protojson
//! (Node SDK), chosen by `Content-Type` without its `;charset=...`
//! parameters; replies use the request's encoding.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::TwirpError;

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Protobuf,
}

impl Encoding {
    /// The encoding named by a `Content-Type` value; anything else is a
    /// Twirp `bad_route`, as in the Go server.
    pub fn from_content_type(value: Option<&str>) -> Result<Self, TwirpError> {
        let raw = value.unwrap_or("");
        let mime = raw.split(';').next().unwrap_or("").trim();
        if mime.eq_ignore_ascii_case("application/json") {
            Ok(Encoding::Json)
        } else if mime.eq_ignore_ascii_case("application/protobuf") {
            Ok(Encoding::Protobuf)
        } else {
            Err(TwirpError::bad_route(format!(
                "unexpected Content-Type: {raw:?}"
            )))
        }
    }

    /// The `Content-Type` of replies in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Protobuf => "application/protobuf",
        }
    }
}

/// Decodes a request message. An empty body is the empty message in both
/// encodings (protobuf's natural reading; lenient for JSON).
pub fn decode<T>(enc: Encoding, body: &[u8]) -> Result<T, TwirpError>
where
    T: prost::Message + Default + DeserializeOwned,
{
    match enc {
        Encoding::Protobuf => T::decode(body).map_err(|e| {
            TwirpError::malformed(format!("the protobuf request could not be decoded: {e}"))
        }),
        Encoding::Json if body.iter().all(u8::is_ascii_whitespace) => Ok(T::default()),
        Encoding::Json => serde_json::from_slice(body).map_err(|e| {
            TwirpError::malformed(format!("the json request could not be decoded: {e}"))
        }),
    }
}

/// Encodes a reply message as a `200` response.
pub fn encode<T>(enc: Encoding, msg: &T) -> Response
where
    T: prost::Message + Serialize,
{
    let body = match enc {
        Encoding::Protobuf => msg.encode_to_vec(),
        Encoding::Json => match serde_json::to_vec(msg) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "twirp json encoding failed");
                return TwirpError::new(super::TwirpCode::Internal, "failed to encode response")
                    .into_response();
            }
        },
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(enc.content_type()),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_protocol as proto;

    #[test]
    fn content_type_params_are_ignored() {
        assert_eq!(
            Encoding::from_content_type(Some("application/json;charset=UTF-8")).unwrap(),
            Encoding::Json
        );
        assert_eq!(
            Encoding::from_content_type(Some("application/protobuf")).unwrap(),
            Encoding::Protobuf
        );
        assert!(Encoding::from_content_type(Some("text/plain")).is_err());
        assert!(Encoding::from_content_type(None).is_err());
    }

    #[test]
    fn json_accepts_camel_and_snake_case() {
        let a: proto::CreateRoomRequest =
            decode(Encoding::Json, br#"{"name":"r","emptyTimeout":5}"#).unwrap();
        let b: proto::CreateRoomRequest =
            decode(Encoding::Json, br#"{"name":"r","empty_timeout":5}"#).unwrap();
        assert_eq!(a.empty_timeout, 5);
        assert_eq!(a, b);
    }

    #[test]
    fn bad_bodies_are_malformed() {
        let e = decode::<proto::CreateRoomRequest>(Encoding::Json, b"{nope").unwrap_err();
        assert_eq!(e.code, super::super::TwirpCode::Malformed);
        let e = decode::<proto::CreateRoomRequest>(Encoding::Protobuf, &[0x0a, 0xff]).unwrap_err();
        assert_eq!(e.code, super::super::TwirpCode::Malformed);
    }
}
