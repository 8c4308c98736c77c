//! The receiver faces the internet: clients that connect and never finish
//! a request (slowloris), or keep a connection idle, must not hold its
//! sockets. Bounded: a few hundred connections on 127.0.0.1, short
//! deadlines, every client gives up after [`BOUND`].

use bote::connections::slow_clients::{slow_client, Slow};
use bote::connections::ConnectionLimits;
use tokio::time::Instant;

use super::*;

/// The longest any client of this test lives.
const BOUND: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_capped_and_do_not_lock_meta_out() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let campaigns = Campaigns::open(&store).expect("campaigns");
    let p = phone(3000);
    seed(&store, p, &[("sale", ConsentStatus::Confirmed)]);
    let limits = ConnectionLimits {
        max_open: 32,
        header_timeout: Duration::from_millis(200),
        body_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_millis(200),
    };
    let handle = Receiver::new(
        Arc::clone(&store),
        campaigns,
        WebhookSecrets::new(VERIFY, SECRET),
    )
    .connection_limits(limits)
    .start("127.0.0.1:0")
    .await
    .expect("receiver");
    let addr = handle.local_addr();
    // Connections beyond the open ones wait in the kernel's queue; one that
    // finds it full is dropped before a silent client would notice, so
    // stay within it (Linux caps the receiver's 1,024 at somaxconn).
    let queue = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(128)
        .min(bote::connections::BACKLOG as usize);
    let clients = (32 + queue - 16).min(600);
    let started = Instant::now();
    let attackers: Vec<_> = (0..clients)
        .map(|i| {
            tokio::spawn(slow_client(
                addr,
                [Slow::Silent, Slow::Head, Slow::Body][i % 3],
                BOUND,
            ))
        })
        .collect();

    // Meta's STOP, posted while they hold the port, still gets through.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let body = serde_json::to_vec(&text(p, "wamid.DURING", "STOP")).expect("json");
    let sig = sign(SECRET.as_bytes(), &body);
    let http = reqwest::Client::new();
    let meta_post = tokio::time::timeout(
        BOUND,
        http.post(handle.url())
            .header(SIGNATURE_HEADER, sig)
            .body(body)
            .send(),
    )
    .await
    .expect("the STOP waited for ever")
    .expect("request");
    assert_eq!(meta_post.status().as_u16(), 200);

    let mut closed = Vec::new();
    for a in attackers {
        closed.push(a.await.expect("client"));
    }
    let held = closed.iter().filter(|c| c.is_none()).count();
    assert_eq!(held, 0, "{held} slow connections were never closed");
    let longest = closed.iter().flatten().max().copied().unwrap_or_default();
    let stats = handle.connections();
    eprintln!(
        "slowloris: {clients} connections closed in {:.2?} (longest {longest:.2?}), peak {} open, {} timed out",
        started.elapsed(),
        stats.peak(),
        stats.timed_out()
    );
    assert!(stats.peak() <= 32, "peak {} over the cap", stats.peak());
    assert!(stats.timed_out() >= clients as u64, "{}", stats.timed_out());
    // The keep-alive connection reqwest pooled is idle: it goes too.
    let deadline = Instant::now() + Duration::from_secs(5);
    while handle.connections().open() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} still open",
            handle.connections().open()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(handle.drained(Duration::from_secs(10)).await);
    assert_eq!(
        statuses(&store.contact(p).expect("read").expect("contact")),
        vec![ConsentStatus::Revoked]
    );
    handle.shutdown().await.expect("shutdown");
}
