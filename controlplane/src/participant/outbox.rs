use livekit_protocol as proto;
use tokio::sync::mpsc;

/// What the WebSocket writer of a participant is asked to do.
#[derive(Debug)]
pub enum Outgoing {
    Signal(Box<proto::SignalResponse>),
    /// Close the socket (after any Leave already queued).
    Close,
}

/// The sending end of a participant's signaling queue. Sending never blocks
/// the room: the writer task drains it. A closed socket makes sends no-ops.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Outgoing>,
}

impl Outbox {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Outgoing>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    pub fn send(&self, msg: proto::signal_response::Message) {
        let _ = self
            .tx
            .send(Outgoing::Signal(Box::new(proto::SignalResponse {
                message: Some(msg),
            })));
    }

    pub fn close(&self) {
        let _ = self.tx.send(Outgoing::Close);
    }
}
