//! The control plane's end of the shared-memory rings: commands go to every
//! worker's command ring, events come back from every worker's event ring
//! and are applied on a tokio task. Nothing here knows how the dataplane is
//! built; it only sees `ringcast_shared`'s region.

use std::sync::Mutex;
use std::time::Duration;

use ringcast_shared::data_ring::DataRecord;
use ringcast_shared::records::{Command, Event};
use ringcast_shared::ring::{Consumer, Producer, ShmError, ShmRegion};

use super::CommandSink;

/// How often the event rings are drained. Events are rare (a few per
/// transport lifetime), so a short poll is cheaper than a wakeup channel.
pub const EVENT_POLL: Duration = Duration::from_millis(2);

/// Commands to every worker, through their rings.
pub struct RingCommandSink {
    producers: Mutex<Vec<Producer<Command>>>,
}

impl RingCommandSink {
    /// Takes the control-plane ends of every worker's rings.
    pub fn attach(region: &ShmRegion) -> Result<(Self, Vec<Consumer<Event>>), ShmError> {
        let mut producers = Vec::with_capacity(region.workers());
        let mut consumers = Vec::with_capacity(region.workers());
        for w in 0..region.workers() {
            let (p, c) = region.control_ends(w)?;
            producers.push(p);
            consumers.push(c);
        }
        Ok((
            Self {
                producers: Mutex::new(producers),
            },
            consumers,
        ))
    }
}

impl CommandSink for RingCommandSink {
    fn broadcast(&self, cmd: Command) -> bool {
        let mut producers = self.producers.lock().unwrap_or_else(|e| e.into_inner());
        let mut ok = true;
        for p in producers.iter_mut() {
            // A full ring is counted by the ring and reported here; the
            // control plane never blocks on the dataplane.
            ok &= p.try_push(cmd).is_ok();
        }
        ok
    }
}

/// The control plane's data ring ends of every worker: the data-out
/// producers and the data-in consumers, both indexed by worker.
#[allow(clippy::type_complexity)]
pub fn attach_data_rings(
    region: &ShmRegion,
) -> Result<(Vec<Producer<DataRecord>>, Vec<Consumer<DataRecord>>), ShmError> {
    let mut out = Vec::with_capacity(region.workers());
    let mut inn = Vec::with_capacity(region.workers());
    for w in 0..region.workers() {
        let (p, c) = region.control_data_ends(w)?;
        out.push(p);
        inn.push(c);
    }
    Ok((out, inn))
}

/// Drains the event rings forever, handing each event to `apply`.
pub async fn pump_events(
    mut consumers: Vec<Consumer<Event>>,
    apply: impl Fn(Event) + Send + 'static,
) {
    let mut tick = tokio::time::interval(EVENT_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for c in consumers.iter_mut() {
            while let Some(ev) = c.try_pop() {
                apply(ev);
            }
        }
    }
}
