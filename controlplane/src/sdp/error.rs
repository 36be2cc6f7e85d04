//! The one error type of the SDP subsystem: parsing a client description and
//! negotiating an answer to it.

/// Why a session description could not be parsed or answered.
///
/// Parse errors carry the 1-based line number so a bad client SDP can be logged
/// precisely; the SDP text itself is never put into the error (it holds ICE
/// credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The text is empty or holds no `v=` line.
    #[error("no v= line")]
    MissingVersion,
    /// A line is not of the form `<letter>=<value>`.
    #[error("line {line}: not a <type>=<value> line")]
    BadLine {
        /// 1-based line number.
        line: usize,
    },
    /// An `m=` line lacks fields or has a bad port.
    #[error("line {line}: malformed m= line")]
    BadMediaLine {
        /// 1-based line number.
        line: usize,
    },
    /// A known attribute has a value we cannot read.
    #[error("line {line}: malformed a={attribute}")]
    BadAttribute {
        /// 1-based line number.
        line: usize,
        /// The attribute name, e.g. `rtpmap`.
        attribute: &'static str,
    },
    /// A media section that is not rejected has no `a=mid` (JSEP requires one
    /// with BUNDLE, and we key everything by mid).
    #[error("media section {index} has no a=mid")]
    MissingMid {
        /// 0-based m-line index.
        index: usize,
    },
    /// Two media sections carry the same mid.
    #[error("duplicate mid {mid:?}")]
    DuplicateMid {
        /// The repeated mid.
        mid: String,
    },
    /// An accepted media section has no ICE ufrag/pwd, neither its own nor at
    /// session level.
    #[error("media section {index} has no ICE credentials")]
    MissingIceCredentials {
        /// 0-based m-line index.
        index: usize,
    },
    /// An accepted media section has no `a=fingerprint` we can check (we
    /// verify the peer certificate against a sha-256 fingerprint).
    #[error("media section {index} has no sha-256 fingerprint")]
    MissingFingerprint {
        /// 0-based m-line index.
        index: usize,
    },
    /// A trickle `candidateInit` is not the JSON object the SDKs send.
    #[error("bad trickle candidate JSON")]
    BadCandidateInit,
    /// A candidate line does not follow RFC 8839 section 5.1.
    #[error("bad candidate line")]
    BadCandidate,
    /// A track's codec is not one we forward, so it cannot be offered.
    #[error("unsupported codec {mime}")]
    UnsupportedCodec {
        /// The publisher's mime type.
        mime: String,
    },
}
