use rand::Rng;

/// ICE characters (RFC 8839 `ice-char`: ALPHA / DIGIT / "+" / "/").
const ICE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Our side's ICE username fragment and password for one transport.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IceCredentials {
    pub ufrag: String,
    pub pwd: String,
}

impl IceCredentials {
    /// 16-char ufrag (>= 4 required) and 32-char password (>= 22 required),
    /// as Pion does; both fit the shared records' inline sizes.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut pick = |n: usize| -> String {
            (0..n)
                .map(|_| ICE_CHARS[rng.random_range(0..ICE_CHARS.len())] as char)
                .collect()
        };
        let ufrag = pick(16);
        let pwd = pick(32);
        Self { ufrag, pwd }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_have_ice_lengths_and_differ() {
        let a = IceCredentials::generate();
        let b = IceCredentials::generate();
        assert_eq!(a.ufrag.len(), 16);
        assert_eq!(a.pwd.len(), 32);
        assert_ne!(a, b);
    }
}
