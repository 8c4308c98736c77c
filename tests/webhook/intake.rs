//! The intake path: concurrent signed POSTs each append and wait for one
//! shared flush round; every body answered 200 is stored once and
//! processed once; the receiver keeps its store alive until it has shut down.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_bodies_are_each_stored_once_and_processed_once() {
    let f = fixture().await;
    let n = 256u32;
    let phones: Vec<Phone> = (0..n).map(|i| phone(4000 + i)).collect();
    let records = phones
        .iter()
        .enumerate()
        .map(|(i, p)| {
            record(
                *p,
                RecipientState::Accepted,
                Some(&format!("wamid.C{i}")),
                Params::default(),
            )
        })
        .collect();
    let c = campaign(&f.campaigns, 8, records);
    let rounds_before = f.store.durability().rounds();
    let posts: Vec<_> = (0..n)
        .map(|i| {
            let body = serde_json::to_vec(&status(
                &format!("wamid.C{i}"),
                StatusKind::Delivered,
                phones[i as usize],
                T + 1,
                Some(callback_data(c, i)),
                None,
            ))
            .expect("json");
            let sig = sign(SECRET.as_bytes(), &body);
            let (http, url) = (f.http.clone(), f.url.clone());
            tokio::spawn(async move {
                http.post(url)
                    .header(SIGNATURE_HEADER, sig)
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for p in posts {
        assert_eq!(p.await.expect("task").expect("post"), 200);
    }
    f.settle().await;
    let stats = f.handle().stats();
    assert_eq!(
        (stats.received, stats.processed),
        (u64::from(n), u64::from(n))
    );
    assert_eq!(f.inbox().processed_len(), n as usize);
    let counts = f
        .campaigns
        .journal(c)
        .expect("journal")
        .counts()
        .expect("counts");
    assert_eq!(counts.delivered, u64::from(n), "{counts:?}");
    let rounds = f.store.durability().rounds() - rounds_before;
    eprintln!("intake: {n} concurrent bodies, {rounds} flush rounds");
}

/// The benchmark hands its only `Arc<Store>` to the receiver: the last
/// flush of the shutdown must still find the store's flusher running.
#[tokio::test]
async fn shutdown_succeeds_when_the_receiver_holds_the_only_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let campaigns = Campaigns::open(&store).expect("campaigns");
    let handle = start(store, campaigns).await;
    let body = serde_json::to_vec(&text(phone(4500), "wamid.ONLY", "hallo")).expect("json");
    let code = post_signed(handle.url(), body).await;
    assert_eq!(code, 200);
    assert!(handle.drained(Duration::from_secs(10)).await);
    handle.shutdown().await.expect("shutdown");
}
