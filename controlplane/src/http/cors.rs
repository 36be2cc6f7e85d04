//! CORS for browsers: the JS SDK fetches `/rtc/validate` cross-origin and
//! must see the status, and web apps call Twirp directly. Like LiveKit we
//! allow every origin on every response (errors and 404s included) and
//! answer preflights ourselves.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Request headers allowed when the preflight does not list its own.
const ALLOWED_HEADERS: &str =
    "Authorization, Content-Type, X-Livekit-Request-Id, User-Agent, Accept, Accept-Encoding, X-Requested-With";
const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";

/// The middleware: answers `OPTIONS` with `204` and the allow headers, and
/// adds `Access-Control-Allow-Origin: *` to everything else.
pub async fn cors(req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS {
        let requested = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned();
        let mut resp = (StatusCode::NO_CONTENT, Body::empty()).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        // Echo what the browser asks for (LiveKit allows "*"); the static
        // list covers clients that ask for nothing.
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            requested.unwrap_or(HeaderValue::from_static(ALLOWED_HEADERS)),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        allow_origin(&mut resp);
        return resp;
    }
    let mut resp = next.run(req).await;
    allow_origin(&mut resp);
    resp
}

fn allow_origin(resp: &mut Response) {
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}
