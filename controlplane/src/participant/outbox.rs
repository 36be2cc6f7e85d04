use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use livekit_protocol as proto;
use tokio::sync::{mpsc, Notify};

/// Signaling messages queued for one participant at most. A client that
/// lets this many pile up is not reading its socket; it is disconnected
/// rather than allowed to grow the server's memory.
pub const OUTBOX_CAPACITY: usize = 4096;

/// What the WebSocket writer of a participant is asked to do.
#[derive(Debug)]
pub enum Outgoing {
    Signal(Box<proto::SignalResponse>),
    /// Close the socket (after any Leave already queued).
    Close,
}

#[derive(Debug, Default)]
struct Shut {
    flag: AtomicBool,
    notify: Notify,
}

impl Shut {
    fn trip(&self) {
        self.flag.store(true, Ordering::Release);
        self.notify.notify_one();
    }
}

/// The sending end of a participant's signaling queue. Sending never blocks
/// the room: the writer task drains it. A closed socket makes sends no-ops;
/// a full queue closes the socket.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outgoing>,
    shut: Arc<Shut>,
}

/// The receiving end, owned by the participant's WebSocket task.
#[derive(Debug)]
pub struct OutboxRx {
    rx: mpsc::Receiver<Outgoing>,
    shut: Arc<Shut>,
}

impl Outbox {
    pub fn new() -> (Self, OutboxRx) {
        let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
        let shut = Arc::new(Shut::default());
        (
            Self {
                tx,
                shut: shut.clone(),
            },
            OutboxRx { rx, shut },
        )
    }

    pub fn send(&self, msg: proto::signal_response::Message) {
        let out = Outgoing::Signal(Box::new(proto::SignalResponse { message: Some(msg) }));
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(out) {
            tracing::warn!("signaling queue full: disconnecting a client that does not read");
            self.shut.trip();
        }
    }

    pub fn close(&self) {
        if self.tx.try_send(Outgoing::Close).is_err() {
            self.shut.trip();
        }
    }
}

impl Default for Outbox {
    /// An outbox nobody reads (a participant whose signaling is gone and
    /// may resume): messages are dropped, the state they describe is sent
    /// whole again on resume.
    fn default() -> Self {
        Self::new().0
    }
}

impl OutboxRx {
    /// The next thing to do; `Close` once the queue overflowed.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        if self.shut.flag.load(Ordering::Acquire) {
            return Some(Outgoing::Close);
        }
        tokio::select! {
            m = self.rx.recv() => m,
            _ = self.shut.notify.notified() => Some(Outgoing::Close),
        }
    }

    /// Without waiting (tests and draining).
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_that_never_reads_is_closed_not_buffered_forever() {
        let (outbox, mut rx) = Outbox::new();
        for i in 0..OUTBOX_CAPACITY + 10 {
            outbox.send(proto::signal_response::Message::Pong(i as i64));
        }
        // The queue holds at most OUTBOX_CAPACITY; the overflow asks for Close.
        assert!(matches!(rx.recv().await, Some(Outgoing::Close)));
        let mut n = 0;
        while rx.try_recv().is_some() {
            n += 1;
        }
        assert_eq!(n, OUTBOX_CAPACITY);
    }

    #[tokio::test]
    async fn messages_arrive_in_order_then_close() {
        let (outbox, mut rx) = Outbox::new();
        outbox.send(proto::signal_response::Message::Pong(1));
        outbox.send(proto::signal_response::Message::Pong(2));
        outbox.close();
        let mut got = Vec::new();
        while let Some(o) = rx.recv().await {
            match o {
                Outgoing::Signal(s) => got.push(s.message),
                Outgoing::Close => break,
            }
        }
        assert_eq!(
            got,
            vec![
                Some(proto::signal_response::Message::Pong(1)),
                Some(proto::signal_response::Message::Pong(2))
            ]
        );
    }
}
