use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ringcast_shared::records::{
    Command, DownTrackSpec, DtlsRole, Fingerprint, InlineStr, TransportId,
};

use super::IceCredentials;
use crate::participant::PcRole;

/// Who a transport belongs to, so dataplane events find their participant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TransportOwner {
    pub room: String,
    pub participant_sid: String,
    pub pc: PcRole,
}

/// Header-extension ids negotiated on one transport (0 = none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RtpExtensionIds {
    pub audio_level: u8,
    pub mid: u8,
    pub rid: u8,
    pub repaired_rid: u8,
    pub transport_cc: u8,
    pub abs_send_time: u8,
}

/// A transport as the signaling session holds it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LocalTransport {
    pub id: TransportId,
    pub ice: IceCredentials,
    /// The remote side once known (installed in the dataplane).
    pub remote: Option<RemoteDtls>,
}

/// The peer's ICE ufrag and DTLS parameters, from its SDP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteDtls {
    pub ufrag: String,
    pub role: DtlsRole,
    pub fingerprint: [u8; 32],
}

/// What every SDP we write needs from the dataplane.
#[derive(Debug, Clone)]
pub struct LocalMediaParams {
    /// SHA-256 of the dataplane's DTLS certificate.
    pub fingerprint: [u8; 32],
    /// One host candidate per address, all on the mux `port`.
    pub ips: Vec<IpAddr>,
    pub port: u16,
}

/// Sends commands to every dataplane worker.
pub trait CommandSink: Send + Sync {
    /// Delivers `cmd` to every worker; false if any worker's ring was full.
    fn broadcast(&self, cmd: Command) -> bool;
}

/// A sink that drops everything (tests, or a server started without media).
#[derive(Debug, Default)]
pub struct NullSink;

impl CommandSink for NullSink {
    fn broadcast(&self, _cmd: Command) -> bool {
        true
    }
}

/// Allocates transports, installs them in the dataplane and remembers owners.
pub struct MediaControl {
    next_id: AtomicU64,
    owners: Mutex<HashMap<TransportId, TransportOwner>>,
    sink: Box<dyn CommandSink>,
    params: LocalMediaParams,
}

impl std::fmt::Debug for MediaControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaControl")
            .field("params", &self.params)
            .finish()
    }
}

impl MediaControl {
    pub fn new(sink: Box<dyn CommandSink>, params: LocalMediaParams) -> Self {
        Self {
            next_id: AtomicU64::new(1),
            owners: Mutex::new(HashMap::new()),
            sink,
            params,
        }
    }

    pub fn params(&self) -> &LocalMediaParams {
        &self.params
    }

    /// A new transport with fresh ICE credentials; not yet in the dataplane.
    pub fn create(&self, owner: TransportOwner) -> LocalTransport {
        let id = TransportId(self.next_id.fetch_add(1, Ordering::Relaxed));
        if let Ok(mut owners) = self.owners.lock() {
            owners.insert(id, owner);
        }
        LocalTransport {
            id,
            ice: IceCredentials::generate(),
            remote: None,
        }
    }

    /// The next transport id and every owner, for a snapshot.
    pub fn export(&self) -> (u64, Vec<(TransportId, TransportOwner)>) {
        let owners = self
            .owners
            .lock()
            .map(|o| o.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default();
        (self.next_id.load(Ordering::Relaxed), owners)
    }

    /// Takes back a snapshot's transports: their owners, and ids from past
    /// the largest ever given (the dataplane still serves those).
    pub fn restore(&self, next_id: u64, owners: Vec<(TransportId, TransportOwner)>) {
        let max = owners.iter().map(|(id, _)| id.0 + 1).max().unwrap_or(1);
        self.next_id.fetch_max(next_id.max(max), Ordering::Relaxed);
        if let Ok(mut o) = self.owners.lock() {
            o.extend(owners);
        }
    }

    pub fn owner(&self, id: TransportId) -> Option<TransportOwner> {
        self.owners.lock().ok().and_then(|o| o.get(&id).cloned())
    }

    /// Installs `t` in the dataplane with `remote`, or updates its remote side.
    /// Returns false when the command could not be queued.
    pub fn install(&self, t: &mut LocalTransport, remote: RemoteDtls) -> bool {
        if t.remote.as_ref() == Some(&remote) {
            return true;
        }
        let fingerprint = Fingerprint {
            sha256: remote.fingerprint,
        };
        let cmd = if t.remote.is_none() {
            let (Some(local_ufrag), Some(local_pwd), Some(remote_ufrag)) = (
                InlineStr::new(&t.ice.ufrag),
                InlineStr::new(&t.ice.pwd),
                InlineStr::new(&remote.ufrag),
            ) else {
                tracing::warn!(
                    transport = t.id.0,
                    "ICE credentials too long for the dataplane"
                );
                return false;
            };
            Command::AddTransport {
                id: t.id,
                local_ufrag,
                local_pwd,
                remote_ufrag,
                role: remote.role,
                fingerprint,
            }
        } else {
            let previous = t.remote.as_ref();
            if previous.is_some_and(|p| p.ufrag != remote.ufrag) {
                // An ICE restart (a resume's re-offer): the dataplane must
                // accept the peer's checks under the new ufrag.
                let Some(remote_ufrag) = InlineStr::new(&remote.ufrag) else {
                    tracing::warn!(transport = t.id.0, "remote ICE ufrag too long");
                    return false;
                };
                if !self.sink.broadcast(Command::SetRemoteIce {
                    id: t.id,
                    remote_ufrag,
                }) {
                    tracing::warn!(transport = t.id.0, "dataplane command ring full");
                    return false;
                }
            }
            if previous
                .is_some_and(|p| p.role == remote.role && p.fingerprint == remote.fingerprint)
            {
                t.remote = Some(remote);
                return true;
            }
            Command::SetRemoteDtls {
                id: t.id,
                role: remote.role,
                fingerprint,
            }
        };
        t.remote = Some(remote);
        let ok = self.sink.broadcast(cmd);
        if !ok {
            tracing::warn!(transport = t.id.0, "dataplane command ring full");
        }
        ok
    }

    /// Starts forwarding a publisher's SSRC to a subscriber's transport.
    /// Returns false when the command could not be queued.
    pub fn add_down_track(&self, spec: DownTrackSpec) -> bool {
        self.send(Command::AddDownTrack { spec })
    }

    /// Feeds an existing down-track from another source SSRC of the same
    /// track (a simulcast layer).
    pub fn switch_down_track(
        &self,
        sink: TransportId,
        ssrc: u32,
        source_ssrc: u32,
        source_pt: u8,
    ) -> bool {
        self.send(Command::SwitchDownTrack {
            sink,
            ssrc,
            source_ssrc,
            source_pt,
        })
    }

    /// Tells the dataplane which header-extension ids the peer negotiated
    /// on transport `id` (audio level feeds speaker detection).
    pub fn set_rtp_extensions(&self, id: TransportId, ids: RtpExtensionIds) -> bool {
        self.send(Command::SetRtpExtensions {
            id,
            audio_level: ids.audio_level,
            mid: ids.mid,
            rid: ids.rid,
            repaired_rid: ids.repaired_rid,
            transport_cc: ids.transport_cc,
            abs_send_time: ids.abs_send_time,
        })
    }

    /// On transport `id`, `rtx_ssrc` repairs `media_ssrc` (SDP FID group).
    pub fn set_rtx_pair(&self, id: TransportId, media_ssrc: u32, rtx_ssrc: u32) -> bool {
        self.send(Command::SetRtxPair {
            id,
            media_ssrc,
            rtx_ssrc,
        })
    }

    /// Stops forwarding to `sink`'s down-track `ssrc`.
    pub fn remove_down_track(&self, sink: TransportId, ssrc: u32) -> bool {
        self.send(Command::RemoveDownTrack { sink, ssrc })
    }

    fn send(&self, cmd: Command) -> bool {
        let ok = self.sink.broadcast(cmd);
        if !ok {
            tracing::warn!(command = ?cmd, "dataplane command ring full");
        }
        ok
    }

    /// Removes the transport from the dataplane and forgets its owner.
    pub fn remove(&self, id: TransportId) {
        if let Ok(mut owners) = self.owners.lock() {
            owners.remove(&id);
        }
        self.sink.broadcast(Command::RemoveTransport { id });
    }
}
