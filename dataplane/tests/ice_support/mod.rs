//! Shared by the ice_* tests: RFC 5769 vectors and an independent STUN
//! encoder/decoder (stun-rs) to build requests and check our responses.
#![allow(dead_code)]

use std::net::SocketAddr;
use stun_rs::attributes::ice::{IceControlled, IceControlling, Priority, UseCandidate};
use stun_rs::attributes::stun::{Fingerprint, MessageIntegrity, UserName, XorMappedAddress};
use stun_rs::methods::BINDING;
use stun_rs::{
    DecoderContextBuilder, HMACKey, MessageClass, MessageDecoderBuilder, MessageEncoderBuilder,
    StunMessageBuilder, TransactionId,
};

/// RFC 5769 section 2: the password of every sample message.
pub const RFC5769_PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";

/// RFC 5769 section 2.1: sample request (USERNAME "evtj:h6vY", PRIORITY,
/// ICE-CONTROLLED, SOFTWARE, MESSAGE-INTEGRITY, FINGERPRINT).
pub const RFC5769_REQUEST: [u8; 108] = [
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
];

/// Transaction id shared by all RFC 5769 samples.
pub const RFC5769_TXID: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];

/// RFC 5769 2.2: XOR-MAPPED-ADDRESS attribute for 192.0.2.1:32853.
pub const RFC5769_XMA_V4: [u8; 12] = [
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
];

/// RFC 5769 2.3: XOR-MAPPED-ADDRESS attribute for
/// [2001:db8:1234:5678:11:2233:4455:6677]:32853.
pub const RFC5769_XMA_V6: [u8; 24] = [
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79,
    0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
];

/// What to put in a request built with stun-rs.
pub struct Req<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub txid: [u8; 12],
    pub use_candidate: bool,
    pub controlling: bool,
    pub integrity: bool,
    pub fingerprint: bool,
}

impl<'a> Req<'a> {
    /// A browser-like check: PRIORITY, ICE-CONTROLLING, MI, FINGERPRINT.
    pub fn new(username: &'a str, password: &'a str) -> Self {
        Req {
            username,
            password,
            txid: [7; 12],
            use_candidate: false,
            controlling: true,
            integrity: true,
            fingerprint: true,
        }
    }

    pub fn nominate(mut self) -> Self {
        self.use_candidate = true;
        self
    }

    pub fn txid(mut self, txid: [u8; 12]) -> Self {
        self.txid = txid;
        self
    }

    /// Encodes with stun-rs.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = StunMessageBuilder::new(BINDING, MessageClass::Request)
            .with_transaction_id(TransactionId::from(self.txid))
            .with_attribute(UserName::new(self.username).expect("username"))
            .with_attribute(Priority::from(0x6e00_01ff));
        b = if self.controlling {
            b.with_attribute(IceControlling::from(0x1122_3344_5566_7788))
        } else {
            b.with_attribute(IceControlled::from(0x1122_3344_5566_7788))
        };
        if self.use_candidate {
            b = b.with_attribute(UseCandidate::default());
        }
        if self.integrity {
            let key = HMACKey::new_short_term(self.password).expect("key");
            b = b.with_attribute(MessageIntegrity::new(key));
        }
        if self.fingerprint {
            b = b.with_attribute(Fingerprint::default());
        }
        let msg = b.build();
        let mut buf = [0u8; 512];
        let n = MessageEncoderBuilder::default()
            .build()
            .encode(&mut buf, &msg)
            .expect("stun-rs encodes");
        buf[..n].to_vec()
    }
}

/// Decodes `resp` with stun-rs, validating MESSAGE-INTEGRITY with
/// `password` and FINGERPRINT; returns (transaction id, mapped address).
pub fn decode_success(resp: &[u8], password: &str) -> Result<([u8; 12], SocketAddr), String> {
    let ctx = DecoderContextBuilder::default()
        .with_key(HMACKey::new_short_term(password).map_err(|e| e.to_string())?)
        .with_validation()
        .build();
    let decoder = MessageDecoderBuilder::default().with_context(ctx).build();
    let (msg, size) = decoder.decode(resp).map_err(|e| format!("{e:?}"))?;
    if size != resp.len() {
        return Err(format!("decoded {size} of {} bytes", resp.len()));
    }
    if msg.method() != BINDING || msg.class() != MessageClass::SuccessResponse {
        return Err("not a Binding Success Response".into());
    }
    if msg.get::<MessageIntegrity>().is_none() || msg.get::<Fingerprint>().is_none() {
        return Err("missing MESSAGE-INTEGRITY or FINGERPRINT".into());
    }
    let xma = msg
        .get::<XorMappedAddress>()
        .ok_or("no XOR-MAPPED-ADDRESS")?
        .as_xor_mapped_address()
        .map_err(|e| e.to_string())?;
    let mut txid = [0u8; 12];
    txid.copy_from_slice(msg.transaction_id().as_ref());
    Ok((txid, *xma.socket_address()))
}
