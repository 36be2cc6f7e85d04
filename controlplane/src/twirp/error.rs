//! Twirp errors: `{"code","msg","meta"}` with `Content-Type: application/json`
//! exactly (the Node SDK compares the header with `===`), status per the
//! Twirp table (LIVEKIT_PROTOCOL.md §8.3), whatever the request encoding.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The Twirp error codes we emit or may emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwirpCode {
    Canceled,
    Unknown,
    InvalidArgument,
    Malformed,
    DeadlineExceeded,
    NotFound,
    BadRoute,
    AlreadyExists,
    PermissionDenied,
    Unauthenticated,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    Dataloss,
}

impl TwirpCode {
    /// The wire name (`"not_found"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            TwirpCode::Canceled => "canceled",
            TwirpCode::Unknown => "unknown",
            TwirpCode::InvalidArgument => "invalid_argument",
            TwirpCode::Malformed => "malformed",
            TwirpCode::DeadlineExceeded => "deadline_exceeded",
            TwirpCode::NotFound => "not_found",
            TwirpCode::BadRoute => "bad_route",
            TwirpCode::AlreadyExists => "already_exists",
            TwirpCode::PermissionDenied => "permission_denied",
            TwirpCode::Unauthenticated => "unauthenticated",
            TwirpCode::ResourceExhausted => "resource_exhausted",
            TwirpCode::FailedPrecondition => "failed_precondition",
            TwirpCode::Aborted => "aborted",
            TwirpCode::OutOfRange => "out_of_range",
            TwirpCode::Unimplemented => "unimplemented",
            TwirpCode::Internal => "internal",
            TwirpCode::Unavailable => "unavailable",
            TwirpCode::Dataloss => "dataloss",
        }
    }

    /// The HTTP status Twirp assigns to the code.
    pub fn status(self) -> StatusCode {
        match self {
            TwirpCode::Canceled | TwirpCode::DeadlineExceeded => StatusCode::REQUEST_TIMEOUT,
            TwirpCode::Unknown | TwirpCode::Internal | TwirpCode::Dataloss => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            TwirpCode::InvalidArgument | TwirpCode::Malformed | TwirpCode::OutOfRange => {
                StatusCode::BAD_REQUEST
            }
            TwirpCode::NotFound | TwirpCode::BadRoute => StatusCode::NOT_FOUND,
            TwirpCode::AlreadyExists | TwirpCode::Aborted => StatusCode::CONFLICT,
            TwirpCode::PermissionDenied => StatusCode::FORBIDDEN,
            TwirpCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            TwirpCode::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            TwirpCode::FailedPrecondition => StatusCode::PRECONDITION_FAILED,
            TwirpCode::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            TwirpCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A Twirp error response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("twirp {}: {msg}", code.as_str())]
pub struct TwirpError {
    pub code: TwirpCode,
    pub msg: String,
    pub meta: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    msg: &'a str,
    meta: &'a BTreeMap<String, String>,
}

impl TwirpError {
    /// An error without meta.
    pub fn new(code: TwirpCode, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
            meta: BTreeMap::new(),
        }
    }

    /// Adds one meta entry.
    pub fn with_meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.meta.insert(key.into(), value.into());
        self
    }

    /// `bad_route` (unknown method, non-POST, unknown content type).
    pub fn bad_route(msg: impl Into<String>) -> Self {
        Self::new(TwirpCode::BadRoute, msg)
    }

    /// `malformed` (body cannot be decoded).
    pub fn malformed(msg: impl Into<String>) -> Self {
        Self::new(TwirpCode::Malformed, msg)
    }

    /// `invalid_argument` (decoded but not acceptable).
    pub fn invalid_argument(msg: impl Into<String>) -> Self {
        Self::new(TwirpCode::InvalidArgument, msg)
    }

    /// `not_found` (room, participant or track).
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(TwirpCode::NotFound, msg)
    }

    /// `unauthenticated`: LiveKit's code for every token or grant failure.
    pub fn unauthenticated(msg: impl Into<String>) -> Self {
        Self::new(TwirpCode::Unauthenticated, msg)
    }

    /// The JSON body bytes.
    pub fn body(&self) -> String {
        let body = Body {
            code: self.code.as_str(),
            msg: &self.msg,
            meta: &self.meta,
        };
        // Serializing strings and a string map cannot fail; fall back anyway.
        serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"code":"internal","msg":"error encoding failed","meta":{}}"#.to_string()
        })
    }
}

impl IntoResponse for TwirpError {
    fn into_response(self) -> Response {
        let mut resp = (self.code.status(), self.body()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_code_msg_meta() {
        let e = TwirpError::invalid_argument("too big").with_meta("limit", "10");
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["code"], "invalid_argument");
        assert_eq!(v["msg"], "too big");
        assert_eq!(v["meta"]["limit"], "10");
    }

    #[test]
    fn statuses_follow_twirp_table() {
        assert_eq!(TwirpCode::Unauthenticated.status(), 401);
        assert_eq!(TwirpCode::NotFound.status(), 404);
        assert_eq!(TwirpCode::BadRoute.status(), 404);
        assert_eq!(TwirpCode::Malformed.status(), 400);
        assert_eq!(TwirpCode::ResourceExhausted.status(), 429);
        assert_eq!(TwirpCode::FailedPrecondition.status(), 412);
        assert_eq!(TwirpCode::Unimplemented.status(), 501);
    }

    #[test]
    fn response_content_type_is_exactly_application_json() {
        let r = TwirpError::not_found("x").into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    }
}
