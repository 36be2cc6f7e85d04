use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sctp_proto::{
    Association, AssociationHandle, ClientConfig, DatagramEvent, Endpoint, EndpointConfig, Event,
    Payload, PayloadProtocolIdentifier, ReliabilityType, ServerConfig, StreamEvent,
};

use super::dcep::{DcepMessage, OpenMessage, Reliability, MSG_ACK};

/// sctp-proto wants a socket address; ours is implied by the DTLS session.
const PLACEHOLDER_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 5000);

/// Bound on events and outgoing packets queued between polls.
const MAX_QUEUED: usize = 1024;

/// What the data channel layer tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SctpEvent {
    /// The association is established.
    Connected,
    /// A channel is open (peer's OPEN received, or our OPEN acknowledged).
    ChannelOpen { stream: u16, label: String },
    /// A whole message arrived on a channel.
    Message {
        stream: u16,
        label: String,
        binary: bool,
        data: Vec<u8>,
    },
    /// The association is gone.
    Closed,
}

/// A data channel error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SctpError {
    #[error("no SCTP association yet")]
    NotConnected,
    #[error("unknown data channel stream {0}")]
    UnknownStream(u16),
    #[error("SCTP: {0}")]
    Sctp(String),
}

#[derive(Debug, Clone)]
struct Channel {
    label: String,
    open: bool,
}

/// One SCTP association over one DTLS session and its data channels.
pub struct SctpTransport {
    endpoint: Endpoint,
    assoc: Option<(AssociationHandle, Association)>,
    /// DTLS client: we send INIT and use even stream ids (RFC 8832 §6).
    dtls_client: bool,
    connected: bool,
    channels: HashMap<u16, Channel>,
    /// Channels asked for before the association was up.
    pending_opens: Vec<(u16, OpenMessage)>,
    next_stream: u16,
    events: VecDeque<SctpEvent>,
    /// Packets produced by sctp-proto not yet handed out.
    outgoing: VecDeque<Bytes>,
    /// Messages dropped because a queue was full, or input that did not parse.
    pub dropped: u64,
}

impl std::fmt::Debug for SctpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SctpTransport")
            .field("dtls_client", &self.dtls_client)
            .field("connected", &self.connected)
            .field("channels", &self.channels)
            .finish()
    }
}

impl SctpTransport {
    /// As the DTLS client we also initiate SCTP (as Pion does); Chrome's
    /// dcSCTP handles either side starting.
    pub fn new(dtls_client: bool) -> Self {
        let endpoint = Endpoint::new(
            Arc::new(EndpointConfig::default()),
            Some(Arc::new(ServerConfig::default())),
        );
        let mut t = Self {
            endpoint,
            assoc: None,
            dtls_client,
            connected: false,
            channels: HashMap::new(),
            pending_opens: Vec::new(),
            next_stream: if dtls_client { 0 } else { 1 },
            events: VecDeque::new(),
            outgoing: VecDeque::new(),
            dropped: 0,
        };
        if dtls_client {
            match t
                .endpoint
                .connect(ClientConfig::default(), PLACEHOLDER_ADDR)
            {
                Ok(a) => t.assoc = Some(a),
                Err(e) => tracing::warn!(error = %e, "SCTP connect failed"),
            }
        }
        t
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// An SCTP packet that arrived as DTLS application data.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        let Some((ch, ev)) = self.endpoint.handle(
            now,
            PLACEHOLDER_ADDR,
            None,
            None,
            Bytes::copy_from_slice(data),
        ) else {
            self.dropped += 1;
            return;
        };
        match ev {
            DatagramEvent::NewAssociation(a) => {
                if self.assoc.is_none() {
                    self.assoc = Some((ch, a));
                }
            }
            DatagramEvent::AssociationEvent(e) => {
                if let Some((h, a)) = self.assoc.as_mut() {
                    if *h == ch {
                        a.handle_event(e);
                    }
                }
            }
        }
        self.drive(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.assoc.as_ref().and_then(|(_, a)| a.poll_timeout())
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some((_, a)) = self.assoc.as_mut() {
            a.handle_timeout(now);
        }
        self.drive(now);
    }

    /// Next SCTP packet to send inside DTLS (one packet per DTLS record).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        loop {
            if let Some(b) = self.outgoing.pop_front() {
                return Some(b);
            }
            let t = match self.endpoint.poll_transmit() {
                Some(t) => t,
                None => self.assoc.as_mut()?.1.poll_transmit(now)?,
            };
            if let Payload::RawEncode(packets) = t.payload {
                self.outgoing
                    .extend(packets.into_iter().filter(|b| !b.is_empty()));
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        self.events.pop_front()
    }

    /// Opens a channel from our side (DCEP OPEN); queued until connected.
    pub fn open_channel(
        &mut self,
        label: &str,
        ordered: bool,
        max_retransmits: Option<u32>,
    ) -> u16 {
        let stream = self.next_stream;
        self.next_stream = self.next_stream.wrapping_add(2);
        let msg = OpenMessage {
            ordered,
            reliability: max_retransmits.map_or(Reliability::Reliable, Reliability::MaxRetransmits),
            priority: 256,
            label: label.to_string(),
            protocol: String::new(),
        };
        self.channels.insert(
            stream,
            Channel {
                label: label.to_string(),
                open: false,
            },
        );
        self.pending_opens.push((stream, msg));
        if self.connected {
            self.flush_opens();
        }
        stream
    }

    /// The stream of an open channel with `label`.
    pub fn stream_of(&self, label: &str) -> Option<u16> {
        self.channels
            .iter()
            .find(|(_, c)| c.label == label && c.open)
            .map(|(s, _)| *s)
    }

    /// Bytes queued on `stream` and not yet acknowledged (0 for a stream
    /// the association does not know).
    pub fn buffered_amount(&mut self, stream: u16) -> usize {
        self.assoc
            .as_mut()
            .and_then(|(_, a)| a.stream(stream).ok())
            .and_then(|s| s.buffered_amount().ok())
            .unwrap_or(0)
    }

    /// Sends one message on `stream` (binary PPID 53, or 57 when empty).
    pub fn send(&mut self, stream: u16, binary: bool, data: &[u8]) -> Result<(), SctpError> {
        if !self.channels.contains_key(&stream) {
            return Err(SctpError::UnknownStream(stream));
        }
        let (_, a) = self.assoc.as_mut().ok_or(SctpError::NotConnected)?;
        let ppi = match (binary, data.is_empty()) {
            (true, false) => PayloadProtocolIdentifier::Binary,
            (true, true) => PayloadProtocolIdentifier::BinaryEmpty,
            (false, false) => PayloadProtocolIdentifier::String,
            (false, true) => PayloadProtocolIdentifier::StringEmpty,
        };
        let payload = if data.is_empty() {
            Bytes::from_static(&[0])
        } else {
            Bytes::copy_from_slice(data)
        };
        let mut s = a
            .stream(stream)
            .map_err(|e| SctpError::Sctp(e.to_string()))?;
        s.write_sctp(&payload, ppi)
            .map_err(|e| SctpError::Sctp(e.to_string()))?;
        Ok(())
    }

    fn push_event(&mut self, e: SctpEvent) {
        if self.events.len() >= MAX_QUEUED {
            self.dropped += 1;
            return;
        }
        self.events.push_back(e);
    }

    fn flush_opens(&mut self) {
        let opens = std::mem::take(&mut self.pending_opens);
        for (stream, msg) in opens {
            let Some((_, a)) = self.assoc.as_mut() else {
                return;
            };
            let result = a
                .open_stream(stream, PayloadProtocolIdentifier::Binary)
                .and_then(|mut s| {
                    let (rel, val) = match msg.reliability {
                        Reliability::Reliable => (ReliabilityType::Reliable, 0),
                        Reliability::MaxRetransmits(n) => (ReliabilityType::Rexmit, n),
                        Reliability::MaxLifetimeMs(ms) => (ReliabilityType::Timed, ms),
                    };
                    s.set_reliability_params(!msg.ordered, rel, val)?;
                    s.write_sctp(&Bytes::from(msg.encode()), PayloadProtocolIdentifier::Dcep)
                });
            if let Err(e) = result {
                tracing::warn!(stream, error = %e, "could not open data channel");
            }
        }
    }

    /// Moves sctp-proto's internal events forward and turns them into ours.
    fn drive(&mut self, _now: Instant) {
        let Some((ch, _)) = self.assoc.as_ref() else {
            return;
        };
        let ch = *ch;
        loop {
            let Some((_, a)) = self.assoc.as_mut() else {
                return;
            };
            if let Some(ev) = a.poll_endpoint_event() {
                if let Some(back) = self.endpoint.handle_event(ch, ev) {
                    if let Some((_, a)) = self.assoc.as_mut() {
                        a.handle_event(back);
                    }
                }
                continue;
            }
            let Some(ev) = a.poll() else { break };
            match ev {
                Event::Connected => {
                    self.connected = true;
                    self.push_event(SctpEvent::Connected);
                    self.flush_opens();
                }
                Event::HandshakeFailed { .. } | Event::AssociationLost { .. } => {
                    self.connected = false;
                    self.push_event(SctpEvent::Closed);
                }
                Event::Stream(StreamEvent::Opened { id })
                | Event::Stream(StreamEvent::Readable { id }) => {
                    self.read_stream(id);
                }
                _ => {}
            }
        }
        // Streams opened by the peer arrive through accept_stream.
        while let Some(id) = self
            .assoc
            .as_mut()
            .and_then(|(_, a)| a.accept_stream().map(|s| s.stream_identifier()))
        {
            self.read_stream(id);
        }
    }

    fn read_stream(&mut self, id: u16) {
        loop {
            let Some((_, a)) = self.assoc.as_mut() else {
                return;
            };
            let Ok(mut s) = a.stream(id) else { return };
            let chunks = match s.read_sctp() {
                Ok(Some(c)) => c,
                _ => return,
            };
            let mut buf = vec![0u8; chunks.len()];
            let n = match chunks.read(&mut buf) {
                Ok(n) => n,
                Err(_) => {
                    self.dropped += 1;
                    continue;
                }
            };
            buf.truncate(n);
            match chunks.ppi {
                PayloadProtocolIdentifier::Dcep => self.on_dcep(id, &buf),
                ppi => {
                    let Some(ch) = self.channels.get(&id) else {
                        self.dropped += 1;
                        continue;
                    };
                    let binary = matches!(
                        ppi,
                        PayloadProtocolIdentifier::Binary | PayloadProtocolIdentifier::BinaryEmpty
                    );
                    let empty = matches!(
                        ppi,
                        PayloadProtocolIdentifier::BinaryEmpty
                            | PayloadProtocolIdentifier::StringEmpty
                    );
                    let label = ch.label.clone();
                    let data = if empty { Vec::new() } else { buf };
                    self.push_event(SctpEvent::Message {
                        stream: id,
                        label,
                        binary,
                        data,
                    });
                }
            }
        }
    }

    fn on_dcep(&mut self, id: u16, buf: &[u8]) {
        match DcepMessage::parse(buf) {
            Ok(DcepMessage::Open(open)) => {
                let unordered = !open.ordered;
                if let Some((_, a)) = self.assoc.as_mut() {
                    if let Ok(mut s) = a.stream(id) {
                        let (rel, val) = match open.reliability {
                            Reliability::Reliable => (ReliabilityType::Reliable, 0),
                            Reliability::MaxRetransmits(n) => (ReliabilityType::Rexmit, n),
                            Reliability::MaxLifetimeMs(ms) => (ReliabilityType::Timed, ms),
                        };
                        let _ = s.set_reliability_params(unordered, rel, val);
                        let _ = s.write_sctp(
                            &Bytes::from_static(&[MSG_ACK]),
                            PayloadProtocolIdentifier::Dcep,
                        );
                    }
                }
                self.channels.insert(
                    id,
                    Channel {
                        label: open.label.clone(),
                        open: true,
                    },
                );
                self.push_event(SctpEvent::ChannelOpen {
                    stream: id,
                    label: open.label,
                });
            }
            Ok(DcepMessage::Ack) => {
                if let Some(ch) = self.channels.get_mut(&id) {
                    ch.open = true;
                    let label = ch.label.clone();
                    self.push_event(SctpEvent::ChannelOpen { stream: id, label });
                }
            }
            Err(e) => {
                self.dropped += 1;
                tracing::debug!(stream = id, error = %e, "bad DCEP message");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Shuttles packets between two transports until both are quiet.
    fn pump(a: &mut SctpTransport, b: &mut SctpTransport, now: &mut Instant) {
        let mut idle = 0;
        for _ in 0..500 {
            let mut moved = false;
            while let Some(p) = a.poll_transmit(*now) {
                b.handle_input(*now, &p);
                moved = true;
            }
            while let Some(p) = b.poll_transmit(*now) {
                a.handle_input(*now, &p);
                moved = true;
            }
            if moved {
                idle = 0;
                continue;
            }
            idle += 1;
            if idle > 3 {
                break;
            }
            *now += Duration::from_millis(10);
            a.handle_timeout(*now);
            b.handle_timeout(*now);
        }
    }

    fn events(t: &mut SctpTransport) -> Vec<SctpEvent> {
        std::iter::from_fn(|| t.poll_event()).collect()
    }

    #[test]
    fn association_connects_and_channels_open_both_ways() {
        let mut now = Instant::now();
        let mut client = SctpTransport::new(true);
        let mut server = SctpTransport::new(false);
        let c_stream = client.open_channel("_reliable", true, None);
        let s_stream = server.open_channel("_lossy", false, Some(0));
        pump(&mut client, &mut server, &mut now);
        pump(&mut client, &mut server, &mut now);
        let ce = events(&mut client);
        let se = events(&mut server);
        assert!(ce.contains(&SctpEvent::Connected), "{ce:?}");
        assert!(se.contains(&SctpEvent::Connected), "{se:?}");
        assert!(
            se.contains(&SctpEvent::ChannelOpen {
                stream: c_stream,
                label: "_reliable".into()
            }),
            "{se:?}"
        );
        assert!(
            ce.contains(&SctpEvent::ChannelOpen {
                stream: s_stream,
                label: "_lossy".into()
            }),
            "{ce:?}"
        );
        assert_eq!(c_stream % 2, 0);
        assert_eq!(s_stream % 2, 1);

        for i in 0..50u8 {
            client.send(c_stream, true, &[i; 100]).unwrap();
        }
        pump(&mut client, &mut server, &mut now);
        let got: Vec<Vec<u8>> = events(&mut server)
            .into_iter()
            .filter_map(|e| match e {
                SctpEvent::Message {
                    data,
                    label,
                    binary: true,
                    ..
                } if label == "_reliable" => Some(data),
                _ => None,
            })
            .collect();
        assert_eq!(got.len(), 50);
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, d)| d == &vec![i as u8; 100]));
    }

    #[test]
    fn garbage_input_is_dropped_not_panicking() {
        let mut t = SctpTransport::new(false);
        let now = Instant::now();
        for n in 0..64 {
            t.handle_input(now, &vec![0xab; n]);
        }
        assert!(t.poll_event().is_none());
        assert!(t.dropped > 0);
    }
}
