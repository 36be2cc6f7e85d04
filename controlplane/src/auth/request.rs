//! Where a request carries its token: the `Authorization: Bearer` header
//! (Rust/Python SDKs, Twirp) or the `access_token` query parameter (the JS
//! SDK's WebSocket, which cannot set headers).

use super::AuthError;

/// The token of a request: the header wins over the query, as in
/// livekit-server. `Ok(None)` when neither is present (the handler then
/// answers `no permissions to access the room`); an `Authorization` header
/// that is not `Bearer <token>` is an error.
pub fn token_from_parts(
    authorization_header: Option<&str>,
    access_token_query: Option<&str>,
) -> Result<Option<String>, AuthError> {
    if let Some(h) = authorization_header.filter(|h| !h.is_empty()) {
        let token = h
            .strip_prefix("Bearer ")
            .ok_or(AuthError::InvalidAuthorizationHeader)?;
        let token = token.trim();
        return Ok(if token.is_empty() {
            None
        } else {
            Some(token.to_string())
        });
    }
    Ok(access_token_query
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_wins_over_query() {
        assert_eq!(
            token_from_parts(Some("Bearer abc"), Some("q"))
                .unwrap()
                .as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn query_used_without_header() {
        assert_eq!(
            token_from_parts(None, Some("q")).unwrap().as_deref(),
            Some("q")
        );
        assert_eq!(
            token_from_parts(Some(""), Some("q")).unwrap().as_deref(),
            Some("q")
        );
    }

    #[test]
    fn header_without_bearer_is_rejected_with_livekit_message() {
        let e = token_from_parts(Some("Basic abc"), None).unwrap_err();
        assert_eq!(
            e.reason(),
            "invalid authorization header. Must start with Bearer "
        );
        assert!(token_from_parts(Some("bearer abc"), None).is_err());
    }

    #[test]
    fn nothing_gives_none() {
        assert_eq!(token_from_parts(None, None).unwrap(), None);
        assert_eq!(token_from_parts(None, Some("")).unwrap(), None);
    }
}
