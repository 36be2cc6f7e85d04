//! A tolerant line parser for the SDP that Chrome and libwebrtc (the JS SDK
//! in Chromium, the Rust/Python SDKs) produce.
//!
//! Hand-written rather than a general SDP crate because we need only a small
//! subset, want unknown attributes skipped instead of rejected (browsers add
//! new ones every few releases), and must never panic on client input: every
//! field is read with a checked split/parse and a bad value of an attribute we
//! use is a typed [`SdpError`] with its line number.

use super::candidate::Candidate;
use super::error::SdpError;
use super::model::*;

/// Parse a session description (offer or answer). Accepts CRLF or LF line
/// endings; ignores blank lines and attributes it does not use.
pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    let mut sd = SessionDescription::default();
    let mut saw_version = false;
    // Raw rtpmap/fmtp/rtcp-fb of the current section, resolved at its end so
    // the attribute order does not matter.
    let mut pending = PendingCodecs::default();

    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let (typ, value) = split_line(line).ok_or(SdpError::BadLine { line: line_no })?;
        match typ {
            'v' => saw_version = true,
            'o' if sd.media.is_empty() => {
                sd.origin_session_id = value.split_ascii_whitespace().nth(1).map(str::to_owned);
            }
            'm' => {
                finish_section(&mut sd, &mut pending);
                sd.media.push(parse_m_line(value, line_no)?);
            }
            'a' => {
                let (name, val) = match value.split_once(':') {
                    Some((n, v)) => (n, Some(v)),
                    None => (value, None),
                };
                match sd.media.last_mut() {
                    None => session_attribute(&mut sd, name, val, line_no)?,
                    Some(m) => media_attribute(m, &mut pending, name, val, line_no)?,
                }
            }
            _ => {}
        }
    }
    finish_section(&mut sd, &mut pending);
    if !saw_version {
        return Err(SdpError::MissingVersion);
    }
    Ok(sd)
}

/// Split `x=value` into its type letter and value. Control characters other
/// than tab are refused: values are echoed into our answers, and a stray CR
/// there would split a line.
fn split_line(line: &str) -> Option<(char, &str)> {
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return None;
    }
    let mut chars = line.chars();
    let typ = chars.next()?;
    if !typ.is_ascii_alphabetic() || chars.next()? != '=' {
        return None;
    }
    // Both chars are ASCII, so byte index 2 is a char boundary.
    line.get(2..).map(|v| (typ, v.trim_end()))
}

fn parse_m_line(value: &str, line: usize) -> Result<MediaSection, SdpError> {
    let bad = SdpError::BadMediaLine { line };
    let mut it = value.split_ascii_whitespace();
    let kind = match it.next().ok_or(bad.clone())? {
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        "application" => MediaKind::Application,
        other => MediaKind::Other(other.to_owned()),
    };
    // `port/count` is legal (RFC 8866 5.14); we only need the port.
    let port_tok = it.next().ok_or(bad.clone())?;
    let port_str = port_tok.split('/').next().unwrap_or(port_tok);
    let port = port_str.parse().map_err(|_| bad.clone())?;
    let protocol = it.next().ok_or(bad.clone())?.to_owned();
    let formats: Vec<String> = it.map(str::to_owned).collect();
    if formats.is_empty() {
        return Err(bad);
    }
    Ok(MediaSection::new(kind, port, protocol, formats))
}

fn session_attribute(
    sd: &mut SessionDescription,
    name: &str,
    val: Option<&str>,
    line: usize,
) -> Result<(), SdpError> {
    match name {
        "ice-ufrag" => sd.ice_ufrag = val.map(str::to_owned),
        "ice-pwd" => sd.ice_pwd = val.map(str::to_owned),
        "ice-lite" => sd.ice_lite = true,
        "extmap-allow-mixed" => sd.extmap_allow_mixed = true,
        "fingerprint" => sd.fingerprint = Some(parse_fingerprint(val, line)?),
        "setup" => sd.setup = Some(parse_setup(val, line)?),
        "group" => {
            let mut it = val.unwrap_or("").split_ascii_whitespace();
            if it.next() == Some("BUNDLE") {
                sd.bundle = it.map(str::to_owned).collect();
            }
        }
        _ => {}
    }
    Ok(())
}

fn media_attribute(
    m: &mut MediaSection,
    pending: &mut PendingCodecs,
    name: &str,
    val: Option<&str>,
    line: usize,
) -> Result<(), SdpError> {
    let v = val.unwrap_or("");
    match name {
        "mid" => m.mid = Some(v.trim().to_owned()),
        "sendrecv" => m.direction = Direction::SendRecv,
        "sendonly" => m.direction = Direction::SendOnly,
        "recvonly" => m.direction = Direction::RecvOnly,
        "inactive" => m.direction = Direction::Inactive,
        "ice-ufrag" => m.ice_ufrag = Some(v.to_owned()),
        "ice-pwd" => m.ice_pwd = Some(v.to_owned()),
        "fingerprint" => m.fingerprint = Some(parse_fingerprint(val, line)?),
        "setup" => m.setup = Some(parse_setup(val, line)?),
        "rtcp-mux" => m.rtcp_mux = true,
        "rtcp-rsize" => m.rtcp_rsize = true,
        "bundle-only" => m.bundle_only = true,
        "end-of-candidates" => m.end_of_candidates = true,
        "rtpmap" => pending.rtpmap.push(parse_rtpmap(v, line)?),
        "fmtp" => {
            let (pt, params) = v.split_once(' ').ok_or(SdpError::BadAttribute {
                line,
                attribute: "fmtp",
            })?;
            let pt = pt.parse().map_err(|_| SdpError::BadAttribute {
                line,
                attribute: "fmtp",
            })?;
            pending.fmtp.push((pt, params.trim().to_owned()));
        }
        "rtcp-fb" => {
            let bad = SdpError::BadAttribute {
                line,
                attribute: "rtcp-fb",
            };
            let (pt, fb) = v.split_once(' ').ok_or(bad.clone())?;
            let pt = if pt == "*" {
                None
            } else {
                Some(pt.parse().map_err(|_| bad.clone())?)
            };
            pending.rtcp_fb.push((pt, fb.trim().to_owned()));
        }
        "extmap" => m.extmaps.push(parse_extmap(v, line)?),
        "msid" => m.msids.push(parse_msid(v).ok_or(SdpError::BadAttribute {
            line,
            attribute: "msid",
        })?),
        "ssrc" => parse_ssrc(m, v, line)?,
        "ssrc-group" => {
            let bad = SdpError::BadAttribute {
                line,
                attribute: "ssrc-group",
            };
            let mut it = v.split_ascii_whitespace();
            let semantics = it.next().ok_or(bad.clone())?.to_owned();
            let ssrcs = it
                .map(|s| s.parse::<u32>().map_err(|_| bad.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            m.ssrc_groups.push(SsrcGroup { semantics, ssrcs });
        }
        "rid" => m.rids.push(parse_rid(v, line)?),
        "simulcast" => m.simulcast = Some(parse_simulcast(v, line)?),
        "sctp-port" => {
            m.sctp_port = Some(v.trim().parse().map_err(|_| SdpError::BadAttribute {
                line,
                attribute: "sctp-port",
            })?)
        }
        "max-message-size" => {
            m.max_message_size = Some(v.trim().parse().map_err(|_| SdpError::BadAttribute {
                line,
                attribute: "max-message-size",
            })?)
        }
        "candidate" => {
            m.candidates
                .push(Candidate::parse(v).map_err(|_| SdpError::BadAttribute {
                    line,
                    attribute: "candidate",
                })?)
        }
        _ => {}
    }
    Ok(())
}

fn parse_fingerprint(val: Option<&str>, line: usize) -> Result<Fingerprint, SdpError> {
    let bad = SdpError::BadAttribute {
        line,
        attribute: "fingerprint",
    };
    let (algo, hex) = val
        .ok_or(bad.clone())?
        .trim()
        .split_once(' ')
        .ok_or(bad.clone())?;
    let digest = hex
        .trim()
        .split(':')
        .map(|b| {
            if b.len() != 2 {
                return Err(bad.clone());
            }
            u8::from_str_radix(b, 16).map_err(|_| bad.clone())
        })
        .collect::<Result<Vec<u8>, _>>()?;
    let algorithm = algo.to_ascii_lowercase();
    if algorithm == "sha-256" {
        let d: [u8; 32] = digest.try_into().map_err(|_| bad)?;
        Ok(Fingerprint::Sha256(d))
    } else {
        Ok(Fingerprint::Other { algorithm, digest })
    }
}

fn parse_setup(val: Option<&str>, line: usize) -> Result<Setup, SdpError> {
    match val.map(str::trim) {
        Some("actpass") => Ok(Setup::ActPass),
        Some("active") => Ok(Setup::Active),
        Some("passive") => Ok(Setup::Passive),
        Some("holdconn") => Ok(Setup::HoldConn),
        _ => Err(SdpError::BadAttribute {
            line,
            attribute: "setup",
        }),
    }
}

struct RtpMap {
    pt: u8,
    name: String,
    clock_rate: u32,
    channels: Option<u16>,
}

fn parse_rtpmap(v: &str, line: usize) -> Result<RtpMap, SdpError> {
    let bad = SdpError::BadAttribute {
        line,
        attribute: "rtpmap",
    };
    let (pt, enc) = v.split_once(' ').ok_or(bad.clone())?;
    let pt = pt.parse().map_err(|_| bad.clone())?;
    let mut parts = enc.trim().split('/');
    let name = parts
        .next()
        .filter(|n| !n.is_empty())
        .ok_or(bad.clone())?
        .to_owned();
    let clock_rate = parts
        .next()
        .ok_or(bad.clone())?
        .parse()
        .map_err(|_| bad.clone())?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse().map_err(|_| bad.clone())?),
        None => None,
    };
    Ok(RtpMap {
        pt,
        name,
        clock_rate,
        channels,
    })
}

fn parse_extmap(v: &str, line: usize) -> Result<Extmap, SdpError> {
    let bad = SdpError::BadAttribute {
        line,
        attribute: "extmap",
    };
    let mut it = v.split_ascii_whitespace();
    let id_dir = it.next().ok_or(bad.clone())?;
    let uri = it.next().ok_or(bad.clone())?.to_owned();
    let (id, direction) = match id_dir.split_once('/') {
        Some((id, dir)) => (id, Some(parse_direction(dir).ok_or(bad.clone())?)),
        None => (id_dir, None),
    };
    let id = id.parse().map_err(|_| bad.clone())?;
    if id == 0 {
        return Err(bad);
    }
    Ok(Extmap { id, direction, uri })
}

fn parse_direction(s: &str) -> Option<Direction> {
    match s {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    }
}

fn parse_msid(v: &str) -> Option<Msid> {
    let mut it = v.split_ascii_whitespace();
    let stream_id = it.next()?.to_owned();
    let track_id = it.next().map(str::to_owned);
    Some(Msid {
        stream_id,
        track_id,
    })
}

fn parse_ssrc(m: &mut MediaSection, v: &str, line: usize) -> Result<(), SdpError> {
    let bad = SdpError::BadAttribute {
        line,
        attribute: "ssrc",
    };
    let (ssrc, rest) = match v.split_once(' ') {
        Some((s, r)) => (s, r.trim()),
        None => (v.trim(), ""),
    };
    let ssrc: u32 = ssrc.parse().map_err(|_| bad)?;
    let idx = match m.ssrcs.iter().position(|s| s.ssrc == ssrc) {
        Some(i) => i,
        None => {
            m.ssrcs.push(SsrcInfo {
                ssrc,
                cname: None,
                msid: None,
            });
            m.ssrcs.len() - 1
        }
    };
    let (attr, value) = rest.split_once(':').unwrap_or((rest, ""));
    if let Some(info) = m.ssrcs.get_mut(idx) {
        match attr {
            "cname" => info.cname = Some(value.to_owned()),
            "msid" => info.msid = parse_msid(value),
            _ => {}
        }
    }
    Ok(())
}

fn parse_rid(v: &str, line: usize) -> Result<Rid, SdpError> {
    let bad = SdpError::BadAttribute {
        line,
        attribute: "rid",
    };
    let mut it = v.splitn(3, ' ');
    let id = it
        .next()
        .filter(|s| !s.is_empty())
        .ok_or(bad.clone())?
        .to_owned();
    let direction = match it.next() {
        Some("send") => RidDirection::Send,
        Some("recv") => RidDirection::Recv,
        _ => return Err(bad),
    };
    let params = it
        .next()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    Ok(Rid {
        id,
        direction,
        params,
    })
}

fn parse_simulcast(v: &str, line: usize) -> Result<Simulcast, SdpError> {
    let bad = SdpError::BadAttribute {
        line,
        attribute: "simulcast",
    };
    let mut sc = Simulcast::default();
    let mut it = v.split_ascii_whitespace();
    while let Some(dir) = it.next() {
        let list = it.next().ok_or(bad.clone())?;
        let streams: Vec<Vec<SimulcastStream>> = list
            .split(';')
            .map(|alts| {
                alts.split(',')
                    .filter(|r| !r.is_empty())
                    .map(|r| match r.strip_prefix('~') {
                        Some(rid) => SimulcastStream {
                            rid: rid.to_owned(),
                            paused: true,
                        },
                        None => SimulcastStream {
                            rid: r.to_owned(),
                            paused: false,
                        },
                    })
                    .collect()
            })
            .filter(|alts: &Vec<SimulcastStream>| !alts.is_empty())
            .collect();
        match dir {
            "send" => sc.send = streams,
            "recv" => sc.recv = streams,
            _ => return Err(bad),
        }
    }
    Ok(sc)
}

/// Codec attributes of the current media section, joined to payload types
/// when the section ends.
#[derive(Default)]
struct PendingCodecs {
    rtpmap: Vec<RtpMap>,
    fmtp: Vec<(u8, String)>,
    rtcp_fb: Vec<(Option<u8>, String)>,
}

/// Build the codec list of the last section from its m-line formats and the
/// collected attributes.
fn finish_section(sd: &mut SessionDescription, pending: &mut PendingCodecs) {
    let p = std::mem::take(pending);
    let Some(m) = sd.media.last_mut() else {
        return;
    };
    if matches!(m.kind, MediaKind::Application) {
        return;
    }
    for fmt in &m.formats {
        let Ok(pt) = fmt.parse::<u8>() else { continue };
        let (name, clock_rate, channels) = match p.rtpmap.iter().find(|r| r.pt == pt) {
            Some(r) => (r.name.clone(), r.clock_rate, r.channels),
            None => match static_payload_type(pt) {
                Some((n, c, ch)) => (n.to_owned(), c, ch),
                None => continue,
            },
        };
        let fmtp = p
            .fmtp
            .iter()
            .find(|(fpt, _)| *fpt == pt)
            .map(|(_, f)| f.clone());
        let rtcp_fb = p
            .rtcp_fb
            .iter()
            .filter(|(fpt, _)| fpt.is_none() || *fpt == Some(pt))
            .map(|(_, fb)| fb.clone())
            .collect();
        m.codecs.push(Codec {
            payload_type: pt,
            name,
            clock_rate,
            channels,
            fmtp,
            rtcp_fb,
        });
    }
}

/// RFC 3551 static payload types a client may list without rtpmap.
fn static_payload_type(pt: u8) -> Option<(&'static str, u32, Option<u16>)> {
    match pt {
        0 => Some(("PCMU", 8000, Some(1))),
        8 => Some(("PCMA", 8000, Some(1))),
        9 => Some(("G722", 8000, Some(1))),
        13 => Some(("CN", 8000, Some(1))),
        _ => None,
    }
}
