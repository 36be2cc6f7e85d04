//! `generate-keys`: a new API key and secret, shaped like livekit-server's
//! (`API` + 12 alphanumerics; a 43-character secret, about 256 bits).

use rand::distr::{Alphanumeric, SampleString};

/// Length of the random part of an API key after the `API` prefix.
pub const KEY_RANDOM_LEN: usize = 12;
/// Secret length: 43 base62 characters carry about 256 bits.
pub const SECRET_LEN: usize = 43;

/// A new `(api_key, secret)` pair.
pub fn generate_key_pair() -> (String, String) {
    let mut rng = rand::rng();
    let key = format!(
        "API{}",
        Alphanumeric.sample_string(&mut rng, KEY_RANDOM_LEN)
    );
    let secret = Alphanumeric.sample_string(&mut rng, SECRET_LEN);
    (key, secret)
}

/// The text livekit-server prints (Go's `Println("API Key: ", k)` puts two
/// spaces after the colon; scripts split on whitespace, so we keep it).
pub fn format_key_pair(key: &str, secret: &str) -> String {
    format!("API Key:  {key}\nAPI Secret:  {secret}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pair_has_livekit_shape() {
        let (k, s) = generate_key_pair();
        assert!(k.starts_with("API") && k.len() == 15, "{k}");
        assert!(
            s.len() >= 32 && s.chars().all(|c| c.is_ascii_alphanumeric()),
            "{s}"
        );
        assert_ne!(generate_key_pair().1, s);
    }

    #[test]
    fn output_is_whitespace_splittable() {
        let out = format_key_pair("APIabc", "sec");
        let lines: Vec<Vec<&str>> = out
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], ["API", "Key:", "APIabc"]);
        assert_eq!(lines[1], ["API", "Secret:", "sec"]);
    }
}
