//! Webhook delivery to `https://` receivers: a local TLS server with an
//! rcgen self-signed certificate. Trusted (through `extra_roots`, or
//! `SSL_CERT_FILE` in a child process) it receives the signed event by IP
//! address and by name; untrusted or for another name, nothing is
//! delivered and the failure is counted after the usual retries.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use livekit_protocol as proto;
use ringcast_controlplane::auth::KeyProvider;
use ringcast_controlplane::webhook::{CertificateDer, Notifier, NotifierConfig, RetryPolicy};
use rustls::pki_types::PrivateKeyDer;
use rustls::ServerConfig;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A self-signed certificate and its key, for `names` (IPs become IP SANs).
struct TestCert {
    der: CertificateDer<'static>,
    key: Vec<u8>,
}

impl TestCert {
    fn new(names: &[&str]) -> Self {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let ck = rcgen::generate_simple_self_signed(names).unwrap();
        Self {
            der: ck.cert.der().clone(),
            key: ck.signing_key.serialize_der(),
        }
    }

    fn pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    body: Bytes,
}

/// What the TLS receiver observed.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// SNI of each completed handshake (`None`: the client sent none).
    sni: Arc<Mutex<Vec<Option<String>>>>,
    handshake_failures: Arc<AtomicUsize>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.seen.lock().unwrap().push(Seen { headers, body });
    StatusCode::OK
}

/// A TCP listener that completes the TLS handshake before handing the
/// connection to axum, counting failed handshakes.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    rx: Receiver,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            match self.acceptor.accept(tcp).await {
                Ok(tls) => {
                    let sni = tls.get_ref().1.server_name().map(str::to_string);
                    self.rx.sni.lock().unwrap().push(sni);
                    return (tls, addr);
                }
                Err(_) => {
                    self.rx.handshake_failures.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

impl Receiver {
    /// Serves `/hook` over TLS with `cert` on 127.0.0.1; returns the port.
    async fn start(cert: &TestCert) -> (Self, u16) {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der.clone()],
                PrivateKeyDer::Pkcs8(cert.key.clone().into()),
            )
            .unwrap();
        let rx = Receiver::default();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let listener = TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            rx: rx.clone(),
        };
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(rx.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (rx, port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn failures(&self) -> usize {
        self.handshake_failures.load(Ordering::SeqCst)
    }
}

fn fast(urls: Vec<String>, extra_roots: Vec<CertificateDer<'static>>) -> NotifierConfig {
    NotifierConfig {
        retry: RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        request_timeout: Duration::from_secs(2),
        extra_roots,
        ..NotifierConfig::new("webkey", "websecret", urls)
    }
}

fn room(name: &str) -> proto::Room {
    proto::Room {
        sid: "RM_tls".into(),
        name: name.into(),
        ..Default::default()
    }
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "condition not met in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Checks one delivery as LiveKit's `WebhookReceiver` would.
fn assert_signed(seen: &Seen, room_name: &str) {
    let h = |k: &str| seen.headers.get(k).unwrap().to_str().unwrap().to_string();
    assert_eq!(h("content-type"), "application/webhook+json");
    let keys = KeyProvider::new([("webkey".to_string(), "websecret".to_string())].into());
    let claims = keys.verify(&h("authorization")).unwrap();
    assert_eq!(claims.iss, "webkey");
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&seen.body));
    assert_eq!(claims.sha256, digest);
    let ev: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(ev["event"], "room_started");
    assert_eq!(ev["room"]["name"], room_name);
}

#[tokio::test]
async fn trusted_https_receiver_gets_the_signed_event_by_ip_and_by_name() {
    let cert = TestCert::new(&["localhost", "127.0.0.1"]);
    let (rx, port) = Receiver::start(&cert).await;
    let urls = vec![
        format!("https://127.0.0.1:{port}/hook"),
        format!("https://localhost:{port}/hook"),
    ];
    let n = Notifier::new(fast(urls, vec![cert.der.clone()]));
    n.room_started(&room("secure"));
    wait_until(|| n.stats().delivered == 2).await;
    let seen = rx.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_signed(s, "secure");
    }
    // An IP address is verified against the IP SAN and sent without SNI;
    // a name is sent as SNI.
    let mut sni = rx.sni.lock().unwrap().clone();
    sni.sort();
    assert_eq!(sni, [None, Some("localhost".to_string())]);
    assert_eq!(rx.failures(), 0);
    let s = n.stats();
    assert_eq!((s.queued, s.delivered, s.failed, s.dropped), (1, 2, 0, 0));
}

#[tokio::test]
async fn untrusted_certificate_is_a_counted_failure_after_retries() {
    let cert = TestCert::new(&["localhost", "127.0.0.1"]);
    let (rx, port) = Receiver::start(&cert).await;
    // The client trusts a different self-signed certificate only.
    let other = TestCert::new(&["localhost", "127.0.0.1"]);
    let n = Notifier::new(fast(
        vec![format!("https://127.0.0.1:{port}/hook")],
        vec![other.der],
    ));
    let start = Instant::now();
    n.room_started(&room("a"));
    wait_until(|| n.stats().failed == 1).await;
    // First attempt + 4 retries, each a rejected handshake; 20 + 40 + 80 +
    // 160 ms of backoff between them.
    wait_until(|| rx.failures() == 5).await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.failures(), 5);
    assert!(rx.seen().is_empty(), "nothing reached the handler");
    let s = n.stats();
    assert_eq!((s.queued, s.delivered, s.failed, s.dropped), (1, 0, 1, 0));
}

#[tokio::test]
async fn trusted_certificate_for_another_name_is_refused() {
    let cert = TestCert::new(&["other.example"]);
    let (rx, port) = Receiver::start(&cert).await;
    let cfg = NotifierConfig {
        retry: RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        },
        ..fast(
            vec![format!("https://127.0.0.1:{port}/hook")],
            vec![cert.der.clone()],
        )
    };
    let n = Notifier::new(cfg);
    n.room_started(&room("a"));
    wait_until(|| n.stats().failed == 1).await;
    wait_until(|| rx.failures() == 1).await;
    assert!(rx.seen().is_empty());
    assert_eq!(n.stats().delivered, 0);
}

/// Set (to the receiver's URL) only in the child process that
/// `ssl_cert_file_is_trusted` starts.
const CHILD_URL: &str = "RINGCAST_TEST_WEBHOOK_CHILD_URL";

/// `SSL_CERT_FILE` is process-global: set it in a child process running
/// only `ssl_cert_file_child`, never in this one where other tests run.
/// Without the variable the same child must fail, so the variable is what
/// made the certificate trusted.
#[tokio::test]
async fn ssl_cert_file_is_trusted() {
    let cert = TestCert::new(&["localhost", "127.0.0.1"]);
    let (rx, port) = Receiver::start(&cert).await;
    let pem_path = std::env::temp_dir().join(format!(
        "ringcast-webhook-https-{}-{port}.pem",
        std::process::id()
    ));
    std::fs::write(&pem_path, cert.pem()).unwrap();
    let run = |with_file: bool| {
        let mut cmd = tokio::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "ssl_cert_file_child", "--test-threads=1"])
            .env(CHILD_URL, format!("https://127.0.0.1:{port}/hook"))
            .env_remove("SSL_CERT_DIR");
        if with_file {
            cmd.env("SSL_CERT_FILE", &pem_path);
        } else {
            cmd.env_remove("SSL_CERT_FILE");
        }
        cmd.output()
    };
    let trusted = run(true).await.unwrap();
    let untrusted = run(false).await.unwrap();
    let _ = std::fs::remove_file(&pem_path);
    assert!(
        trusted.status.success(),
        "with SSL_CERT_FILE: {}",
        String::from_utf8_lossy(&trusted.stdout)
    );
    assert!(
        !untrusted.status.success(),
        "without SSL_CERT_FILE the certificate must not be trusted"
    );
    let seen = rx.seen();
    assert_eq!(seen.len(), 1, "exactly the trusted run delivered");
    assert_signed(&seen[0], "from-env");
    assert_eq!(rx.failures(), 1, "the untrusted run's handshake");
}

/// The child half of `ssl_cert_file_is_trusted`; does nothing when run
/// directly.
#[tokio::test]
async fn ssl_cert_file_child() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let cfg = NotifierConfig {
        retry: RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        },
        ..fast(vec![url], Vec::new())
    };
    let n = Notifier::new(cfg);
    n.room_started(&room("from-env"));
    wait_until(|| n.stats().delivered + n.stats().failed == 1).await;
    assert_eq!(n.stats().delivered, 1, "{:?}", n.stats());
}
