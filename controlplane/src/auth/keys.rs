use std::collections::BTreeMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{AuthError, Claims};

/// Clock skew allowed on `exp` and `nbf`, as livekit-server and the Python
/// SDK allow.
pub const LEEWAY_SECS: u64 = 60;

/// The API keys and secrets this server accepts, and token verification.
#[derive(Debug, Clone, Default)]
pub struct KeyProvider {
    keys: BTreeMap<String, String>,
}

impl KeyProvider {
    pub fn new(keys: BTreeMap<String, String>) -> Self {
        Self { keys }
    }

    /// The secret of `api_key`, if known.
    pub fn secret(&self, api_key: &str) -> Option<&str> {
        self.keys.get(api_key).map(String::as_str)
    }

    /// The first key and its secret (sorted by key), for tokens the server
    /// mints itself when no key is named.
    pub fn first(&self) -> Option<(&str, &str)> {
        self.keys
            .iter()
            .next()
            .map(|(k, s)| (k.as_str(), s.as_str()))
    }

    /// Number of configured keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies a LiveKit access token: HS256 only, secret found by the
    /// (unverified) `iss`, signature checked, `exp` required, `exp` and `nbf`
    /// checked with [`LEEWAY_SECS`] of leeway. Returns every claim.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.verify_at(token, None)
    }

    /// [`verify`](Self::verify) at a given Unix time (seconds) instead of the
    /// system clock, so the time checks are testable.
    pub fn verify_at(&self, token: &str, now: Option<u64>) -> Result<Claims, AuthError> {
        let token = token.trim();
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::MalformedToken)?;
        // Read `iss` before trusting anything, to pick the secret.
        let unverified = jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
            .map_err(|_| AuthError::MalformedToken)?;
        if header.alg != Algorithm::HS256 {
            return Err(AuthError::InvalidToken(format!(
                "unsupported signing algorithm {:?}, expected HS256",
                header.alg
            )));
        }
        let api_key = unverified.claims.iss;
        let secret = self.secret(&api_key).ok_or(AuthError::InvalidApiKey)?;

        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        if now.is_some() {
            // Time is checked below against the caller's clock.
            validation.validate_exp = false;
            validation.validate_nbf = false;
        }
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(secret.as_bytes()),
            &validation,
        )
        .map_err(|e| AuthError::InvalidToken(describe(e.kind())))?;
        let claims = data.claims;
        if let Some(now) = now {
            check_times(&claims, now)?;
        }
        Ok(claims)
    }
}

/// `exp`/`nbf` against an explicit clock, with the same leeway.
fn check_times(claims: &Claims, now: u64) -> Result<(), AuthError> {
    let exp = claims
        .exp
        .ok_or_else(|| AuthError::InvalidToken("missing exp claim".into()))?;
    if exp.saturating_add(LEEWAY_SECS) < now {
        return Err(AuthError::InvalidToken("token has expired".into()));
    }
    if let Some(nbf) = claims.nbf {
        if nbf > now.saturating_add(LEEWAY_SECS) {
            return Err(AuthError::InvalidToken(
                "token is not valid yet (nbf)".into(),
            ));
        }
    }
    Ok(())
}

/// A short detail for `invalid authorization token: <detail>`.
fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::InvalidSignature => "signature is invalid".into(),
        K::ExpiredSignature => "token has expired".into(),
        K::ImmatureSignature => "token is not valid yet (nbf)".into(),
        K::MissingRequiredClaim(c) => format!("missing {c} claim"),
        K::InvalidClaimFormat(c) => format!("invalid {c} claim"),
        K::InvalidAlgorithm => "unsupported signing algorithm, expected HS256".into(),
        K::InvalidToken => "malformed token".into(),
        other => format!("{other:?}"),
    }
}
