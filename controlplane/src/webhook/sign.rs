//! The request body and its signature: the body is the protojson of the
//! event, the `Authorization` header a LiveKit token from the webhook key
//! whose `sha256` claim is the base64 (standard, padded) SHA-256 of exactly
//! those bytes (LIVEKIT_PROTOCOL.md 9.2-9.3).

use std::time::Duration;

use base64::Engine;
use livekit_protocol as proto;
use sha2::{Digest, Sha256};

use crate::auth::{AuthError, Claims};

/// The `Content-Type` LiveKit sends webhooks with.
pub const WEBHOOK_CONTENT_TYPE: &str = "application/webhook+json";

/// How long a webhook token is valid (LiveKit: 5 minutes).
pub const WEBHOOK_TOKEN_TTL: Duration = Duration::from_secs(5 * 60);

/// An encoded event ready to send: body bytes and the `Authorization` value.
#[derive(Debug, Clone)]
pub struct SignedBody {
    pub body: Vec<u8>,
    /// The raw JWT: LiveKit sends no `Bearer ` prefix and the SDK receivers
    /// pass the header straight to their verifier.
    pub authorization: String,
}

/// base64 (standard alphabet, padded) of SHA-256 of `body`.
pub fn body_sha256(body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
}

/// Encodes `event` as protojson (camelCase names, defaults omitted, int64 as
/// strings: pbjson follows Go's protojson) and signs it.
pub fn sign_body(
    api_key: &str,
    secret: &str,
    event: &proto::WebhookEvent,
) -> Result<SignedBody, SignError> {
    let body = serde_json::to_vec(event).map_err(|e| SignError::Encode(e.to_string()))?;
    let claims = Claims {
        sha256: body_sha256(&body),
        iat: Some(crate::auth::unix_now()),
        ..Default::default()
    };
    let authorization = crate::auth::mint(api_key, secret, &claims, WEBHOOK_TOKEN_TTL)?;
    Ok(SignedBody {
        body,
        authorization,
    })
}

/// Why an event could not be made into a request.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The event did not serialise (should not happen for a proto message).
    #[error("cannot encode webhook event: {0}")]
    Encode(String),
    /// The token could not be signed.
    #[error(transparent)]
    Token(#[from] AuthError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> proto::WebhookEvent {
        proto::WebhookEvent {
            event: "room_started".into(),
            room: Some(proto::Room {
                sid: "RM_abc".into(),
                name: "r".into(),
                empty_timeout: 300,
                ..Default::default()
            }),
            id: "EV_x".into(),
            created_at: 1_700_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn body_is_protojson_with_camel_case_and_int64_strings() {
        let s = sign_body("k", "s", &sample()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(v["createdAt"], "1700000000");
        assert_eq!(v["room"]["emptyTimeout"], 300);
        assert!(
            v["room"].get("numParticipants").is_none(),
            "defaults omitted"
        );
        assert!(v.get("participant").is_none());
    }

    #[test]
    fn sha256_claim_matches_exact_body_and_header_has_no_bearer() {
        let s = sign_body("webkey", "websecret", &sample()).unwrap();
        assert!(!s.authorization.starts_with("Bearer"));
        let keys =
            crate::auth::KeyProvider::new([("webkey".to_string(), "websecret".to_string())].into());
        let claims = keys.verify(&s.authorization).unwrap();
        assert_eq!(claims.iss, "webkey");
        assert_eq!(claims.sha256, body_sha256(&s.body));
        let exp = claims.exp.unwrap();
        let nbf = claims.nbf.unwrap();
        assert_eq!(exp - nbf, 300);
        let mut other = s.body.clone();
        other.push(b' ');
        assert_ne!(claims.sha256, body_sha256(&other));
    }

    #[test]
    fn body_sha256_is_padded_standard_base64() {
        // SHA-256("") = e3b0c442...; its base64 ends with one '='.
        assert_eq!(
            body_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
