//! A whole load run: ramp publishers then subscribers, wait until every
//! subscriber hears every publisher of its room, measure for the window,
//! drain, leave, and add it all up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringcast_dataplane::dtls::{CertificateError, DtlsCertificate};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::args::Args;
use super::cpu::{process_cpu_seconds, process_rss_kib};
use super::participant::{self, Outcome, Role, Shared, Spec, TrackKind, VideoLayer};
use super::payload::monotonic_ns;
use super::report::{ServerCpu, Summary};
use super::stats::Window;

/// Why a run could not even start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("certificate: {0}")]
    Cert(#[from] CertificateError),
    #[error("nothing to do: no publishers or no subscribers")]
    Empty,
    #[error("server pid {0}: {1}")]
    ServerPid(u32, std::io::Error),
}

fn room_name(args: &Args, r: usize) -> String {
    if args.rooms == 1 {
        args.room.clone()
    } else {
        format!("{}-{r}", args.room)
    }
}

/// Polls `done` until it says so or `timeout` passes; true if done.
async fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

async fn ramp(
    shared: &Arc<Shared>,
    specs: Vec<Spec>,
    rate: f64,
    stop: &watch::Receiver<bool>,
    handles: &mut Vec<JoinHandle<Outcome>>,
) {
    let gap = Duration::from_secs_f64(1.0 / rate.max(0.1));
    for spec in specs {
        handles.push(tokio::spawn(participant::run(
            Arc::clone(shared),
            spec,
            stop.clone(),
        )));
        tokio::time::sleep(gap).await;
    }
}

/// Runs the load described by `args` and returns its summary.
pub async fn run(args: &Args) -> Result<Summary, RunError> {
    let (n_audio, n_video) = (args.audio_publishers(), args.video_publishers);
    let per_room = n_audio + n_video;
    let receivers_per_room = args.subscribers + if args.meeting { per_room } else { 0 };
    if per_room == 0 || args.rooms == 0 || receivers_per_room == 0 {
        return Err(RunError::Empty);
    }
    // The server's idle CPU rate, before anyone joins.
    let mut idle_cpu_per_second = None;
    let rss_before = args.server_pid.and_then(|p| process_rss_kib(p).ok());
    if let Some(pid) = args.server_pid {
        let a = process_cpu_seconds(pid).map_err(|e| RunError::ServerPid(pid, e))?;
        if !args.idle_sample.is_zero() {
            let t = Instant::now();
            tokio::time::sleep(args.idle_sample).await;
            let b = process_cpu_seconds(pid).map_err(|e| RunError::ServerPid(pid, e))?;
            idle_cpu_per_second = Some((b - a).max(0.0) / t.elapsed().as_secs_f64());
        }
    }
    let shared = Arc::new(Shared {
        url: args.url.clone(),
        api_key: args.api_key.clone(),
        api_secret: args.api_secret.clone(),
        payload_bytes: args.payload_bytes.max(super::payload::STAMP_LEN),
        publishers_per_room: per_room,
        // By default one receive m-line per publisher of the room, of its
        // kind; --initial-recv-slots N offers N of each kind published.
        initial_recv_slots: match args.initial_recv_slots {
            Some(n) => (
                if n_audio > 0 { n } else { 0 },
                if n_video > 0 { n } else { 0 },
            ),
            None => (n_audio, n_video),
        },
        video_layers: VideoLayer::for_bitrate(args.video_bitrate, args.simulcast),
        connect_timeout: args.warmup_timeout,
        cert: DtlsCertificate::generate()?,
        window: Window::default(),
        offer_setup: args.setup,
        connected: AtomicUsize::new(0),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut handles = Vec::new();

    let mut pubs = Vec::new();
    let mut subs = Vec::new();
    for r in 0..args.rooms {
        let room = room_name(args, r);
        for p in 0..per_room {
            let kind = if p < n_audio {
                TrackKind::Audio
            } else {
                TrackKind::Video
            };
            pubs.push(Spec {
                room_index: r,
                room: room.clone(),
                identity: format!("pub-{r}-{p}"),
                role: Role::Publisher {
                    index: (r * per_room + p) as u32,
                    kind,
                    subscribes: args.meeting,
                },
            });
        }
        for s in 0..args.subscribers {
            subs.push(Spec {
                room_index: r,
                room: room.clone(),
                identity: format!("sub-{r}-{s}"),
                role: Role::Subscriber,
            });
        }
    }
    let n_pubs = pubs.len();
    let n_receivers = receivers_per_room * args.rooms;

    // Publishers first, so subscribers join a live room.
    ramp(&shared, pubs, args.join_rate, &stop_rx, &mut handles).await;
    let ok = wait_for(args.warmup_timeout, || {
        shared.connected.load(Ordering::Relaxed) >= n_pubs
            || shared.failed.load(Ordering::Relaxed) > 0
    })
    .await;
    tracing::info!(
        connected = shared.connected.load(Ordering::Relaxed),
        of = n_pubs,
        ok,
        "publishers up"
    );
    ramp(&shared, subs, args.join_rate, &stop_rx, &mut handles).await;
    let all_heard = wait_for(args.warmup_timeout, || {
        shared.ready.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed) >= n_receivers
    })
    .await;
    tracing::info!(
        ready = shared.ready.load(Ordering::Relaxed),
        of = n_receivers,
        all_heard,
        "subscribers receiving"
    );
    // A moment for the joins' signaling to settle.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let cpu_at = |pid: Option<u32>| pid.and_then(|p| process_cpu_seconds(p).ok());
    let me = Some(std::process::id());
    let (cpu0, gen0) = (cpu_at(args.server_pid), cpu_at(me));
    shared.window.open(monotonic_ns());
    tokio::time::sleep(args.duration).await;
    shared.window.close(monotonic_ns());
    let (cpu1, gen1) = (cpu_at(args.server_pid), cpu_at(me));
    let rss_window = args.server_pid.and_then(|p| process_rss_kib(p).ok());
    tokio::time::sleep(args.drain).await;
    let _ = stop_tx.send(true);

    let mut outcomes = Vec::with_capacity(handles.len());
    for h in handles {
        match tokio::time::timeout(Duration::from_secs(10), h).await {
            Ok(Ok(o)) => outcomes.push(o),
            Ok(Err(e)) => tracing::warn!(error = %e, "participant task panicked"),
            Err(_) => tracing::warn!("participant task did not stop"),
        }
    }
    let cpu = match (args.server_pid, cpu0, cpu1) {
        (Some(pid), Some(a), Some(b)) => Some(ServerCpu {
            pid,
            cpu_seconds: (b - a).max(0.0),
            idle_cpu_per_second,
        }),
        _ => None,
    };
    let mut summary = Summary::from_outcomes(&outcomes, args.rooms, shared.window.seconds(), cpu);
    summary.generator_cpu_seconds = gen0.zip(gen1).map(|(a, b)| (b - a).max(0.0));
    if let (Some(a), Some(b)) = (rss_before, rss_window) {
        summary.set_server_rss(a, b);
    }
    Ok(summary)
}
