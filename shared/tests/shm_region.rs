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

mod data_rings {
    use super::TempShm;
    use ringcast_shared::data_ring::{
        ChannelKind, DataRecord, DataRecordError, DATA_MAX_PAYLOAD, DATA_RING_CAPACITY,
    };
    use ringcast_shared::records::TransportId;
    use ringcast_shared::ring::spsc::RingError;
    use ringcast_shared::ring::{ShmBacking, ShmError, ShmRegion};

    #[test]
    fn data_messages_cross_a_second_mapping_both_ways_per_worker() {
        let f = TempShm::new("data-two-maps");
        let dp = ShmRegion::create(&ShmBacking::Path(f.0.clone()), 2, 8).expect("create");
        let cp = ShmRegion::attach(&f.0).expect("attach");
        let (mut in_tx, mut out_rx) = dp.worker_data_ends(1).expect("worker data ends");
        let (mut out_tx, mut in_rx) = cp.control_data_ends(1).expect("control data ends");

        let big = vec![0x5a; 64000];
        let rec = DataRecord::new(TransportId(9), ChannelKind::Reliable, &big).expect("fits");
        assert!(in_tx.try_push(rec).is_ok());
        let got = in_rx.try_pop().expect("data-in record");
        assert_eq!(got.transport(), TransportId(9));
        assert_eq!(got.kind(), Some(ChannelKind::Reliable));
        assert_eq!(got.payload(), &big[..]);

        let rec = DataRecord::new(TransportId(3), ChannelKind::Lossy, b"hi").expect("fits");
        assert!(out_tx.try_push(rec).is_ok());
        let got = out_rx.try_pop().expect("data-out record");
        assert_eq!(got.transport(), TransportId(3));
        assert_eq!(got.kind(), Some(ChannelKind::Lossy));
        assert_eq!(got.payload(), b"hi");

        // Worker 0's data rings are separate and still empty.
        let mut w0 = cp.data_in_consumer(0).expect("worker 0 data-in");
        assert!(w0.try_pop().is_none());
        // The command rings did not see any of it.
        let mut cmds = dp.command_consumer(1).expect("commands");
        assert_eq!(cmds.try_pop(), None);
    }

    #[test]
    fn full_data_ring_refuses_and_counts() {
        let dp = ShmRegion::create(&ShmBacking::Memfd("data-full".into()), 1, 4).expect("create");
        let mut tx = dp.data_in_producer(0).expect("producer");
        let rec = DataRecord::new(TransportId(1), ChannelKind::Lossy, b"x").expect("fits");
        for _ in 0..DATA_RING_CAPACITY {
            assert!(tx.try_push(rec).is_ok());
        }
        assert!(tx.try_push(rec).is_err());
        let (data_in, data_out) = dp.data_ring_stats(0).expect("stats");
        assert_eq!(data_in.len, DATA_RING_CAPACITY as u64);
        assert_eq!(data_in.full_rejections, 1);
        assert_eq!(data_out.len, 0);
    }

    #[test]
    fn data_ring_end_cannot_be_taken_twice() {
        let dp = ShmRegion::create(&ShmBacking::Memfd("data-twice".into()), 1, 4).expect("create");
        let first = dp.data_out_consumer(0).expect("first");
        assert!(matches!(
            dp.data_out_consumer(0),
            Err(ShmError::Ring(RingError::ConsumerTaken))
        ));
        drop(first);
        assert!(dp.data_out_consumer(0).is_ok());
        assert!(matches!(
            dp.data_in_producer(1),
            Err(ShmError::NoSuchWorker { .. })
        ));
    }

    #[test]
    fn oversize_message_is_refused_and_labels_round_trip() {
        let big = vec![0u8; DATA_MAX_PAYLOAD + 1];
        assert_eq!(
            DataRecord::new(TransportId(1), ChannelKind::Reliable, &big).err(),
            Some(DataRecordError::TooLarge(DATA_MAX_PAYLOAD + 1))
        );
        for k in [
            ChannelKind::Reliable,
            ChannelKind::Lossy,
            ChannelKind::DataTrack,
        ] {
            assert_eq!(ChannelKind::from_label(k.label()), Some(k));
            assert_eq!(ChannelKind::from_u8(k as u8), Some(k));
        }
        assert_eq!(ChannelKind::from_label("chat"), None);
        assert_eq!(ChannelKind::from_u8(3), None);
    }
}
