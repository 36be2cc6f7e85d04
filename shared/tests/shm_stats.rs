//! Per-worker stats blocks and ring stats in the shared region: what the
//! dataplane publishes, the control plane reads through its own mapping.

use std::path::PathBuf;

use ringcast_shared::records::Command;
use ringcast_shared::ring::{ShmBacking, ShmError, ShmRegion};
use ringcast_shared::stats::WorkerStat;

/// A unique /dev/shm (or temp dir) file removed when dropped.
struct TempShm(PathBuf);

impl TempShm {
    fn new(tag: &str) -> Self {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        TempShm(dir.join(format!("ringcast-stats-{}-{}", std::process::id(), tag)))
    }
}

impl Drop for TempShm {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn worker_stats_written_by_one_mapping_are_read_by_another() {
    let f = TempShm::new("cross");
    let dp = ShmRegion::create(&ShmBacking::Path(f.0.clone()), 3, 8).expect("create");
    let cp = ShmRegion::attach(&f.0).expect("attach");

    let slot = dp.worker_stats(2).expect("slot");
    slot.block().set(WorkerStat::PacketsIn, 42);
    slot.block().set(WorkerStat::EventsDropped, 5);

    let w2 = cp.read_worker_stats(2).expect("read 2");
    assert_eq!(w2.get(WorkerStat::PacketsIn), 42);
    assert_eq!(w2.get(WorkerStat::EventsDropped), 5);
    let w1 = cp.read_worker_stats(1).expect("read 1");
    assert_eq!(
        w1.get(WorkerStat::PacketsIn),
        0,
        "workers have separate blocks"
    );
}

#[test]
fn stats_blocks_do_not_overlap_the_rings() {
    let dp = ShmRegion::create(&ShmBacking::Memfd("stats-overlap".into()), 2, 4).expect("create");
    for w in 0..2 {
        let slot = dp.worker_stats(w).expect("slot");
        for s in WorkerStat::ALL {
            slot.block().set(s, u64::MAX);
        }
    }
    let (mut tx, mut rx) = (
        dp.command_producer(1).expect("tx"),
        dp.command_consumer(1).expect("rx"),
    );
    tx.try_push(Command::Shutdown).expect("push");
    assert_eq!(rx.try_pop(), Some(Command::Shutdown));
    assert_eq!(dp.info(), None, "header untouched");
}

#[test]
fn ring_stats_report_depth_and_full_refusals() {
    let dp = ShmRegion::create(&ShmBacking::Memfd("stats-rings".into()), 1, 4).expect("create");
    let mut tx = dp.command_producer(0).expect("tx");
    for _ in 0..6 {
        let _ = tx.try_push(Command::Shutdown);
    }
    let (cmd, evt) = dp.ring_stats(0).expect("ring stats");
    assert_eq!(cmd.capacity, 4);
    assert_eq!(cmd.len, 4);
    assert_eq!(cmd.full_rejections, 2);
    assert_eq!(evt.len, 0);
    assert_eq!(evt.full_rejections, 0);
}

#[test]
fn stats_of_a_missing_worker_are_an_error() {
    let dp = ShmRegion::create(&ShmBacking::Memfd("stats-missing".into()), 1, 4).expect("create");
    assert!(matches!(
        dp.read_worker_stats(1),
        Err(ShmError::NoSuchWorker {
            worker: 1,
            workers: 1
        })
    ));
    assert!(dp.worker_stats(1).is_err());
    assert!(dp.ring_stats(1).is_err());
}
