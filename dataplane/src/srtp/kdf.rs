//! RFC 3711 §4.3 key derivation with KDR 0 (also used by RFC 7714 for GCM):
//! an AES-CM keystream keyed by the master key, IV = master salt with the
//! label folded in at byte 7.
use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};

/// What a derived session key is for (the RFC 3711 label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    RtpEncryption = 0,
    RtpAuth = 1,
    RtpSalt = 2,
    RtcpEncryption = 3,
    RtcpAuth = 4,
    RtcpSalt = 5,
}

/// Fills `out` with the session key for `label`. Returns false if the master
/// key length is neither 16 nor 32 bytes or the salt is longer than 14 bytes.
pub fn derive_session_key(
    master_key: &[u8],
    master_salt: &[u8],
    label: Label,
    out: &mut [u8],
) -> bool {
    if master_salt.len() > 14 {
        return false;
    }
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    iv[7] ^= label as u8;
    match master_key.len() {
        16 => keystream(
            &aes::Aes128::new(GenericArray::from_slice(master_key)),
            &iv,
            out,
        ),
        32 => keystream(
            &aes::Aes256::new(GenericArray::from_slice(master_key)),
            &iv,
            out,
        ),
        _ => return false,
    }
    true
}

fn keystream<C: BlockEncrypt<BlockSize = aes::cipher::consts::U16>>(
    cipher: &C,
    iv: &[u8; 16],
    out: &mut [u8],
) {
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        let mut block = *iv;
        let ctr = u16::from_be_bytes([block[14], block[15]]).wrapping_add(i as u16);
        block[14..16].copy_from_slice(&ctr.to_be_bytes());
        let mut b = GenericArray::from(block);
        cipher.encrypt_block(&mut b);
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}
