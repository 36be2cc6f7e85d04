//! Behaviour of the in-process SPSC ring.

use ringcast_shared::ring::spsc::{channel, RingError};

#[test]
fn items_come_out_in_push_order() {
    let (mut p, mut c) = channel::<u32>(8).expect("valid capacity");
    for i in 0..5 {
        assert_eq!(p.try_push(i), Ok(()));
    }
    assert_eq!(p.len(), 5);
    assert_eq!(c.len(), 5);
    let got: Vec<u32> = std::iter::from_fn(|| c.try_pop()).collect();
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    assert!(c.is_empty());
}

#[test]
fn empty_ring_pops_none() {
    let (_p, mut c) = channel::<u64>(4).expect("valid capacity");
    assert_eq!(c.try_pop(), None);
    let mut out = [0u64; 4];
    assert_eq!(c.pop_batch(&mut out), 0);
}

#[test]
fn wraparound_over_many_cycles_keeps_order() {
    let (mut p, mut c) = channel::<u64>(4).expect("valid capacity");
    let mut next_in = 0u64;
    let mut next_out = 0u64;
    for round in 0..10_000u64 {
        // Varying fill levels so head/tail cross the slot boundary at every offset.
        let n = 1 + round % 4;
        for _ in 0..n {
            assert_eq!(p.try_push(next_in), Ok(()));
            next_in += 1;
        }
        for _ in 0..n {
            assert_eq!(c.try_pop(), Some(next_out));
            next_out += 1;
        }
    }
    assert_eq!(c.try_pop(), None);
    assert_eq!(p.full_rejections(), 0);
}

#[test]
fn full_ring_returns_the_item_and_counts_the_refusal() {
    let (mut p, mut c) = channel::<u32>(4).expect("valid capacity");
    for i in 0..4 {
        assert_eq!(p.try_push(i), Ok(()));
    }
    assert_eq!(p.try_push(99), Err(99));
    assert_eq!(p.try_push(100), Err(100));
    assert_eq!(p.full_rejections(), 2);
    assert_eq!(c.full_rejections(), 2);
    assert_eq!(c.try_pop(), Some(0));
    assert_eq!(p.try_push(4), Ok(()));
    let got: Vec<u32> = std::iter::from_fn(|| c.try_pop()).collect();
    assert_eq!(got, vec![1, 2, 3, 4]);
}

#[test]
fn batches_take_what_fits_and_count_the_rest() {
    let (mut p, mut c) = channel::<u16>(8).expect("valid capacity");
    let items: Vec<u16> = (0..10).collect();
    assert_eq!(p.push_batch(&items), 8);
    assert_eq!(p.full_rejections(), 2);
    let mut out = [0u16; 3];
    assert_eq!(c.pop_batch(&mut out), 3);
    assert_eq!(out, [0, 1, 2]);
    assert_eq!(p.push_batch(&items[8..]), 2);
    let mut rest = [0u16; 16];
    assert_eq!(c.pop_batch(&mut rest), 7);
    assert_eq!(&rest[..7], &[3, 4, 5, 6, 7, 8, 9]);
}

#[test]
fn capacity_must_be_a_power_of_two() {
    assert_eq!(channel::<u8>(0).err(), Some(RingError::BadCapacity(0)));
    assert_eq!(channel::<u8>(6).err(), Some(RingError::BadCapacity(6)));
    assert!(channel::<u8>(1).is_ok());
}

#[test]
fn two_threads_move_a_million_items_in_order_without_loss() {
    const N: u64 = 1_000_000;
    let (mut p, mut c) = channel::<u64>(1024).expect("valid capacity");
    let producer = std::thread::spawn(move || {
        let mut i = 0;
        while i < N {
            match p.try_push(i) {
                Ok(()) => i += 1,
                Err(_) => std::hint::spin_loop(),
            }
        }
        p.full_rejections()
    });
    let mut expected = 0u64;
    let mut buf = [0u64; 64];
    while expected < N {
        let n = c.pop_batch(&mut buf);
        for &v in &buf[..n] {
            assert_eq!(v, expected, "out of order or lost item");
            expected += 1;
        }
        if n == 0 {
            std::hint::spin_loop();
        }
    }
    let _full = producer.join().expect("producer thread");
    assert_eq!(c.try_pop(), None);
}

#[test]
fn ends_are_send_so_they_can_move_to_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<ringcast_shared::ring::Producer<u64>>();
    assert_send::<ringcast_shared::ring::Consumer<u64>>();
}
