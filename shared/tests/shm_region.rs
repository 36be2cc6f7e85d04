//! Behaviour of the shared-memory region between the planes.

use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;

use ringcast_shared::records::{Command, Event, FailReason, TransportId, RECORDS_VERSION};
use ringcast_shared::ring::spsc::RingError;
use ringcast_shared::ring::{DataplaneInfo, ShmBacking, ShmError, ShmRegion};

/// A unique /dev/shm (or temp dir) file removed when dropped.
struct TempShm(PathBuf);

impl TempShm {
    fn new(tag: &str) -> Self {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        TempShm(dir.join(format!("ringcast-test-{}-{}", std::process::id(), tag)))
    }
}

impl Drop for TempShm {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn second_mapping_of_a_dev_shm_file_sees_the_same_rings() {
    let f = TempShm::new("two-maps");
    let dp = ShmRegion::create(&ShmBacking::Path(f.0.clone()), 2, 16).expect("create");
    let cp = ShmRegion::attach(&f.0).expect("attach");
    assert_eq!(cp.workers(), 2);
    assert_eq!(cp.capacity(), 16);

    let (mut cmd_tx, mut evt_rx) = cp.control_ends(1).expect("control ends");
    let (mut cmd_rx, mut evt_tx) = dp.worker_ends(1).expect("worker ends");

    let cmd = Command::RemoveTransport {
        id: TransportId(42),
    };
    assert_eq!(cmd_tx.try_push(cmd), Ok(()));
    assert_eq!(cmd_tx.try_push(Command::Shutdown), Ok(()));
    assert_eq!(cmd_rx.try_pop(), Some(cmd));
    assert_eq!(cmd_rx.try_pop(), Some(Command::Shutdown));
    assert_eq!(cmd_rx.try_pop(), None);

    let ev = Event::TransportFailed {
        id: TransportId(7),
        reason: FailReason::DtlsFailed,
    };
    assert_eq!(evt_tx.try_push(ev), Ok(()));
    assert_eq!(evt_rx.try_pop(), Some(ev));

    // Worker 0's rings are separate from worker 1's.
    let mut w0 = dp.command_consumer(0).expect("worker 0");
    assert_eq!(w0.try_pop(), None);
}

#[test]
fn memfd_region_is_reachable_through_proc_fd() {
    let dp =
        ShmRegion::create(&ShmBacking::Memfd("ringcast-test".into()), 1, 8).expect("create memfd");
    let cp = ShmRegion::attach(dp.fd_path()).expect("attach via /proc/<pid>/fd");
    let mut tx = cp.command_producer(0).expect("producer");
    let mut rx = dp.command_consumer(0).expect("consumer");
    for i in 0..100u64 {
        assert_eq!(
            tx.try_push(Command::RemoveTransport { id: TransportId(i) }),
            Ok(())
        );
        assert_eq!(
            rx.try_pop(),
            Some(Command::RemoveTransport { id: TransportId(i) })
        );
    }
}

#[test]
fn dataplane_info_and_heartbeat_cross_the_mapping() {
    let dp = ShmRegion::create(&ShmBacking::Memfd("ringcast-info".into()), 1, 4).expect("create");
    let cp = ShmRegion::attach(dp.fd_path()).expect("attach");
    assert_eq!(cp.info(), None);
    let info = DataplaneInfo {
        fingerprint_sha256: std::array::from_fn(|i| i as u8),
        udp_port: 7882,
        pid: 1234,
    };
    dp.publish_info(&info);
    assert_eq!(cp.info(), Some(info));
    dp.beat();
    dp.beat();
    assert_eq!(cp.heartbeat(), 2);
}

#[test]
fn taking_a_ring_end_twice_fails_until_the_first_is_dropped() {
    let dp = ShmRegion::create(&ShmBacking::Memfd("ringcast-twice".into()), 1, 4).expect("create");
    let cp = ShmRegion::attach(dp.fd_path()).expect("attach");
    let first = dp.command_producer(0).expect("first take");
    assert!(matches!(
        cp.command_producer(0),
        Err(ShmError::Ring(RingError::ProducerTaken))
    ));
    let _c = dp.event_consumer(0).expect("consumer take");
    assert!(matches!(
        dp.event_consumer(0),
        Err(ShmError::Ring(RingError::ConsumerTaken))
    ));
    drop(first);
    assert!(cp.command_producer(0).is_ok());
}

#[test]
fn asking_for_a_missing_worker_is_an_error() {
    let dp = ShmRegion::create(&ShmBacking::Memfd("ringcast-range".into()), 2, 4).expect("create");
    assert!(matches!(
        dp.event_producer(2),
        Err(ShmError::NoSuchWorker {
            worker: 2,
            workers: 2
        })
    ));
}

fn patch(path: &PathBuf, offset: u64, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for patch");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.write_all(bytes).expect("write");
}

#[test]
fn attach_refuses_a_wrong_magic() {
    let f = TempShm::new("magic");
    let _dp = ShmRegion::create(&ShmBacking::Path(f.0.clone()), 1, 4).expect("create");
    patch(&f.0, 0, b"NOTRINGS");
    let err = ShmRegion::attach(&f.0).expect_err("bad magic must fail");
    assert!(matches!(err, ShmError::BadMagic { .. }), "{err}");
    assert!(err.to_string().contains("not a ringcast region"));
}

#[test]
fn attach_refuses_a_different_records_version() {
    let f = TempShm::new("version");
    let _dp = ShmRegion::create(&ShmBacking::Path(f.0.clone()), 1, 4).expect("create");
    patch(&f.0, 8, &(RECORDS_VERSION + 1).to_le_bytes());
    let err = ShmError::VersionMismatch {
        found: RECORDS_VERSION + 1,
    }
    .to_string();
    match ShmRegion::attach(&f.0) {
        Err(e @ ShmError::VersionMismatch { found }) => {
            assert_eq!(found, RECORDS_VERSION + 1);
            assert_eq!(e.to_string(), err);
        }
        other => panic!("expected version mismatch, got {other:?}"),
    }
}

#[test]
fn attach_refuses_a_truncated_file_and_a_plain_file() {
    let f = TempShm::new("short");
    let _dp = ShmRegion::create(&ShmBacking::Path(f.0.clone()), 2, 8).expect("create");
    let len = std::fs::metadata(&f.0).expect("stat").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f.0)
        .expect("open")
        .set_len(len - 64)
        .expect("truncate");
    assert!(matches!(
        ShmRegion::attach(&f.0),
        Err(ShmError::LayoutMismatch {
            field: "file length",
            ..
        })
    ));

    let g = TempShm::new("plain");
    std::fs::write(&g.0, [0u8; 16]).expect("write");
    assert!(matches!(
        ShmRegion::attach(&g.0),
        Err(ShmError::LayoutMismatch { .. })
    ));
}

#[test]
fn create_refuses_bad_parameters() {
    let memfd = ShmBacking::Memfd("ringcast-bad".into());
    assert!(matches!(
        ShmRegion::create(&memfd, 0, 4),
        Err(ShmError::Invalid(_))
    ));
    assert!(matches!(
        ShmRegion::create(&memfd, 1, 3),
        Err(ShmError::Ring(RingError::BadCapacity(3)))
    ));
}
