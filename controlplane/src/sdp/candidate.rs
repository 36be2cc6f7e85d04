//! ICE candidates: parsing a client's `a=candidate` line, formatting our host
//! candidates, and the trickle `candidateInit` JSON of `TrickleRequest`.
//!
//! The server is ICE-lite with one UDP mux port, so it only ever sends host
//! candidates, one per advertised address.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::error::SdpError;

/// A parsed candidate (RFC 8839 section 5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The foundation.
    pub foundation: String,
    /// The component id (1 = RTP; with rtcp-mux the only one).
    pub component: u16,
    /// The transport, lower-cased (`udp`, `tcp`).
    pub transport: String,
    /// The priority.
    pub priority: u32,
    /// The address: an IP, or an mDNS name (`<uuid>.local`) from browsers.
    pub address: String,
    /// The port.
    pub port: u16,
    /// The type: `host`, `srflx`, `prflx`, `relay`.
    pub typ: String,
    /// `raddr`, if present.
    pub related_address: Option<String>,
    /// `rport`, if present.
    pub related_port: Option<u16>,
    /// Other `name value` pairs (`generation`, `ufrag`, `network-id`,
    /// `tcptype`...), in order.
    pub extensions: Vec<(String, String)>,
}

impl Candidate {
    /// Parse `candidate:...` (with or without the `a=` and `candidate:`
    /// prefixes).
    pub fn parse(line: &str) -> Result<Candidate, SdpError> {
        let line = line.trim();
        let line = line.strip_prefix("a=").unwrap_or(line);
        let line = line.strip_prefix("candidate:").unwrap_or(line);
        let mut it = line.split_ascii_whitespace();
        let mut next = || it.next().ok_or(SdpError::BadCandidate);
        let foundation = next()?.to_owned();
        let component = next()?.parse().map_err(|_| SdpError::BadCandidate)?;
        let transport = next()?.to_ascii_lowercase();
        let priority = next()?.parse().map_err(|_| SdpError::BadCandidate)?;
        let address = next()?.to_owned();
        let port = next()?.parse().map_err(|_| SdpError::BadCandidate)?;
        if next()? != "typ" {
            return Err(SdpError::BadCandidate);
        }
        let typ = next()?.to_owned();
        let mut cand = Candidate {
            foundation,
            component,
            transport,
            priority,
            address,
            port,
            typ,
            related_address: None,
            related_port: None,
            extensions: Vec::new(),
        };
        while let Some(name) = it.next() {
            let value = it.next().ok_or(SdpError::BadCandidate)?;
            match name {
                "raddr" => cand.related_address = Some(value.to_owned()),
                "rport" => {
                    cand.related_port = Some(value.parse().map_err(|_| SdpError::BadCandidate)?)
                }
                _ => cand.extensions.push((name.to_owned(), value.to_owned())),
            }
        }
        Ok(cand)
    }

    /// The address as an IP, when it is one (not an mDNS name).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

/// One of our host candidates: an advertised address on the UDP mux port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCandidate {
    /// The advertised address (node IP, or a configured external one).
    pub ip: IpAddr,
    /// The UDP mux port.
    pub port: u16,
    /// The position among our addresses (0 = most preferred); it sets the
    /// local preference part of the priority.
    pub index: u16,
}

impl HostCandidate {
    /// One host candidate per address, in preference order.
    pub fn for_addresses(ips: &[IpAddr], port: u16) -> Vec<HostCandidate> {
        ips.iter()
            .enumerate()
            .map(|(i, ip)| HostCandidate {
                ip: *ip,
                port,
                index: u16::try_from(i).unwrap_or(u16::MAX),
            })
            .collect()
    }

    /// RFC 8445 section 5.1.2.1: type preference 126 (host), local
    /// preference 65535 minus the index, component 1.
    pub fn priority(&self) -> u32 {
        let local_pref = 65535u32 - u32::from(self.index);
        (126 << 24) | (local_pref << 8) | (256 - 1)
    }

    /// A foundation stable for the address (RFC 8445 5.1.1.3 wants the same
    /// foundation for the same type and base): FNV-1a of the IP text.
    pub fn foundation(&self) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        for b in self.ip.to_string().bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h
    }

    /// `candidate:<foundation> 1 udp <priority> <ip> <port> typ host
    /// generation 0` (no `a=` prefix).
    pub fn to_sdp_value(&self) -> String {
        format!(
            "candidate:{} 1 udp {} {} {} typ host generation 0",
            self.foundation(),
            self.priority(),
            self.ip,
            self.port
        )
    }

    /// The trickle JSON for this candidate on m-line `mline_index` with mid
    /// `mid`. `sdpMid` and `sdpMLineIndex` are always present: the Rust SDK
    /// deserialises them as non-optional and unwraps.
    pub fn to_candidate_init_json(&self, mid: &str, mline_index: u16, ufrag: &str) -> String {
        let init = CandidateInit {
            candidate: self.to_sdp_value(),
            sdp_mid: Some(mid.to_owned()),
            sdp_m_line_index: Some(mline_index),
            username_fragment: Some(ufrag.to_owned()),
        };
        // Serialising a struct of strings and integers cannot fail.
        serde_json::to_string(&init).unwrap_or_default()
    }
}

/// `RTCIceCandidateInit` as JSON, the content of `TrickleRequest.candidateInit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CandidateInit {
    /// `candidate:...`, or empty for end-of-candidates.
    #[serde(default)]
    pub candidate: String,
    /// The mid, absent or null from some clients.
    #[serde(rename = "sdpMid", default)]
    pub sdp_mid: Option<String>,
    /// The m-line index.
    #[serde(rename = "sdpMLineIndex", default)]
    pub sdp_m_line_index: Option<u16>,
    /// The ufrag the candidate belongs to (tells an ICE restart apart).
    #[serde(rename = "usernameFragment", default)]
    pub username_fragment: Option<String>,
}

impl CandidateInit {
    /// Read a client's `candidateInit`. Tolerant: unknown fields are ignored,
    /// `sdpMid`/`sdpMLineIndex`/`usernameFragment` may be missing or null.
    pub fn parse_json(json: &str) -> Result<CandidateInit, SdpError> {
        serde_json::from_str(json).map_err(|_| SdpError::BadCandidateInit)
    }

    /// The parsed candidate; `None` for an end-of-candidates marker (empty
    /// candidate string).
    pub fn candidate(&self) -> Result<Option<Candidate>, SdpError> {
        if self.candidate.trim().is_empty() {
            return Ok(None);
        }
        Candidate::parse(&self.candidate).map(Some)
    }
}
