use std::collections::BTreeMap;

/// The API keys and secrets this server accepts.
/// (Skeleton: token verification is filled in by the auth work.)
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
}
