//! The opus parameters of our publisher answers (LIVEKIT_PROTOCOL.md 3.8).

/// The opus fmtp we ask the publisher for (RFC 7587 7.1: the receiver's
/// fmtp says what it wants to receive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpusAnswer {
    /// Ask for DTX (`usedtx=1`); LiveKit does unless the track has
    /// `TF_NO_DTX`.
    pub dtx: bool,
    /// Ask for stereo (`stereo=1;maxaveragebitrate=510000`), for `TF_STEREO`
    /// tracks; without it Chrome sends mono.
    pub stereo: bool,
}

impl OpusAnswer {
    /// The client's opus fmtp with our dtx/stereo wishes applied.
    pub fn apply(&self, client_fmtp: Option<&str>) -> String {
        let mut parts: Vec<&str> = client_fmtp
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|kv| !kv.is_empty())
            .filter(|kv| {
                let k = kv.split('=').next().unwrap_or("").trim();
                !["usedtx", "stereo", "maxaveragebitrate"]
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(k))
            })
            .collect();
        if self.dtx {
            parts.push("usedtx=1");
        }
        if self.stereo {
            parts.push("stereo=1");
            parts.push("maxaveragebitrate=510000");
        }
        parts.join(";")
    }
}
