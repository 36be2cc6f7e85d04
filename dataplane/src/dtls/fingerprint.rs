//! SHA-256 certificate fingerprints in the form SDP carries them
//! (`a=fingerprint:sha-256 AB:CD:...`, RFC 8122 §5).

use sha2::{Digest, Sha256};

/// The SHA-256 hash of a DER certificate: what `a=fingerprint:sha-256` names.
pub fn sha256_fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// Uppercase hex pairs joined by colons, as browsers write fingerprints in SDP.
pub fn format_fingerprint(fingerprint: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(fingerprint.len() * 3);
    for (i, byte) in fingerprint.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Parses the value of `a=fingerprint:sha-256` (hex pairs split by colons,
/// either case). `None` if it is not exactly 32 well-formed bytes.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut count = 0usize;
    for pair in text.trim().split(':') {
        let slot = out.get_mut(count)?;
        if pair.len() != 2 {
            return None;
        }
        *slot = u8::from_str_radix(pair, 16).ok()?;
        count += 1;
    }
    (count == 32).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_uppercase_colon_hex_and_parses_back() {
        let fp = sha256_fingerprint(b"certificate");
        let text = format_fingerprint(&fp);
        assert_eq!(text.len(), 32 * 3 - 1);
        assert!(text
            .chars()
            .all(|c| c == ':' || c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_eq!(parse_fingerprint(&text), Some(fp));
        assert_eq!(parse_fingerprint(&text.to_lowercase()), Some(fp));
    }

    #[test]
    fn parse_rejects_wrong_lengths_and_junk() {
        let text = format_fingerprint(&[0xab; 32]);
        assert_eq!(parse_fingerprint(&text[..text.len() - 3]), None);
        assert_eq!(parse_fingerprint(&format!("{text}:00")), None);
        assert_eq!(parse_fingerprint(&text.replace("AB", "XY")), None);
        assert_eq!(parse_fingerprint(""), None);
        assert_eq!(parse_fingerprint(&text.replacen("AB", "ABC", 1)), None);
    }
}
