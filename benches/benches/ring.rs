//! Push+pop throughput of the SPSC ring against `crossbeam::channel::bounded`
//! as the baseline, single-threaded and with producer and consumer on two
//! threads.

use std::hint::black_box;
use std::thread;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringcast_shared::records::{Command, TransportId};
use ringcast_shared::ring::spsc;

const CAPACITY: usize = 1024;
/// Items moved per iteration in the two-thread benches.
const BATCH: u64 = 100_000;

fn single_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring/single_thread_push_pop");
    g.throughput(Throughput::Elements(1));

    let (mut p, mut q) = spsc::channel::<u64>(CAPACITY).expect("capacity is a power of two");
    g.bench_function(BenchmarkId::new("spsc", "u64"), |b| {
        b.iter(|| {
            let _ = p.try_push(black_box(7u64));
            black_box(q.try_pop())
        })
    });

    let (tx, rx) = crossbeam::channel::bounded::<u64>(CAPACITY);
    g.bench_function(BenchmarkId::new("crossbeam_bounded", "u64"), |b| {
        b.iter(|| {
            let _ = tx.try_send(black_box(7u64));
            black_box(rx.try_recv().ok())
        })
    });

    let cmd = Command::RemoveTransport { id: TransportId(9) };
    let (mut p, mut q) = spsc::channel::<Command>(CAPACITY).expect("capacity is a power of two");
    g.bench_function(BenchmarkId::new("spsc", "Command"), |b| {
        b.iter(|| {
            let _ = p.try_push(black_box(cmd));
            black_box(q.try_pop())
        })
    });

    let (tx, rx) = crossbeam::channel::bounded::<Command>(CAPACITY);
    g.bench_function(BenchmarkId::new("crossbeam_bounded", "Command"), |b| {
        b.iter(|| {
            let _ = tx.try_send(black_box(cmd));
            black_box(rx.try_recv().ok())
        })
    });
    g.finish();
}

/// Moves `BATCH` items from a fresh producer thread to this thread.
fn spsc_two_threads(batch_pop: bool) {
    let (mut p, mut q) = spsc::channel::<u64>(CAPACITY).expect("capacity is a power of two");
    let producer = thread::spawn(move || {
        let mut i = 0;
        while i < BATCH {
            if p.try_push(i).is_ok() {
                i += 1;
            } else {
                thread::yield_now();
            }
        }
    });
    let mut got = 0;
    let mut buf = [0u64; 64];
    while got < BATCH {
        let n = if batch_pop {
            q.pop_batch(&mut buf) as u64
        } else {
            q.try_pop().map_or(0, |_| 1)
        };
        if n == 0 {
            thread::yield_now();
        }
        got += n;
    }
    black_box(buf);
    let _ = producer.join();
}

fn crossbeam_two_threads() {
    let (tx, rx) = crossbeam::channel::bounded::<u64>(CAPACITY);
    let producer = thread::spawn(move || {
        let mut i = 0;
        while i < BATCH {
            if tx.try_send(i).is_ok() {
                i += 1;
            } else {
                thread::yield_now();
            }
        }
    });
    let mut got = 0;
    while got < BATCH {
        match rx.try_recv() {
            Ok(v) => {
                black_box(v);
                got += 1;
            }
            Err(_) => thread::yield_now(),
        }
    }
    let _ = producer.join();
}

fn two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring/two_threads_100k_u64");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(20);
    g.bench_function("spsc_try_pop", |b| b.iter(|| spsc_two_threads(false)));
    g.bench_function("spsc_pop_batch64", |b| b.iter(|| spsc_two_threads(true)));
    g.bench_function("crossbeam_bounded", |b| b.iter(crossbeam_two_threads));
    g.finish();
}

criterion_group!(benches, single_thread, two_threads);
criterion_main!(benches);
