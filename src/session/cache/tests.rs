//! The cache's unit tests: coalescing, capacity, abandoned lookups.

use super::*;
use crate::session::Reason;
use std::sync::atomic::{AtomicUsize, Ordering};

fn metrics() -> CacheMetrics {
    CacheMetrics::detached()
}

fn counting(
    calls: &Arc<AtomicUsize>,
    result: Result<&'static str, SessionError>,
) -> BoxFuture<'static, Result<Principal, SessionError>> {
    let calls = calls.clone();
    async move {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        result.map(|sub| Principal::new(sub, Default::default()).unwrap())
    }
    .boxed()
}

#[tokio::test]
async fn concurrent_lookups_coalesce_and_positive_results_are_kept() {
    let cache = LookupCache::<Principal>::new(Duration::from_secs(60), 10, 100, metrics());
    let calls = Arc::new(AtomicUsize::new(0));
    let key = cache_key(&[b"sid-1"]);
    let all = futures_util::future::join_all(
        (0..20).map(|_| cache.get_or_lookup(key, None, || counting(&calls, Ok("alice")))),
    )
    .await;
    assert!(all.iter().all(|r| r.as_ref().unwrap().sub == "alice"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    cache
        .get_or_lookup(key, None, || counting(&calls, Ok("alice")))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "served from the cache");
}

#[tokio::test]
async fn failures_are_shared_but_not_kept() {
    let cache = LookupCache::<Principal>::new(Duration::from_secs(60), 10, 100, metrics());
    let calls = Arc::new(AtomicUsize::new(0));
    let key = cache_key(&[b"sid-2"]);
    let all = futures_util::future::join_all((0..5).map(|_| {
        cache.get_or_lookup(key, None, || {
            counting(&calls, Err(SessionError::Unavailable("down".into())))
        })
    }))
    .await;
    assert!(all
        .iter()
        .all(|r| matches!(r, Err(SessionError::Unavailable(_)))));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let again = cache
        .get_or_lookup(key, None, || counting(&calls, Ok("alice")))
        .await;
    assert_eq!(again.unwrap().sub, "alice");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the failure was not cached"
    );
}

#[tokio::test]
async fn at_capacity_new_sessions_are_looked_up_but_not_kept() {
    let cache = LookupCache::<Principal>::new(Duration::from_secs(60), 1, 100, metrics());
    let calls = Arc::new(AtomicUsize::new(0));
    let (first, second) = (cache_key(&[b"sid-a"]), cache_key(&[b"sid-b"]));
    for key in [first, second, first, second] {
        cache
            .get_or_lookup(key, None, || counting(&calls, Ok("a")))
            .await
            .unwrap();
    }
    // sid-a was kept (one lookup); sid-b found the cache full (two).
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn zero_ttl_coalesces_without_keeping() {
    let cache = LookupCache::<Principal>::new(Duration::ZERO, 10, 100, metrics());
    let calls = Arc::new(AtomicUsize::new(0));
    let key = cache_key(&[b"sid-3"]);
    cache
        .get_or_lookup(key, None, || counting(&calls, Ok("a")))
        .await
        .unwrap();
    cache
        .get_or_lookup(key, None, || counting(&calls, Ok("a")))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_abandoned_lookup_finishes_and_settles_its_slot() {
    let cache = LookupCache::<Principal>::new(Duration::from_secs(60), 10, 100, metrics());
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let waiter = cache.get_or_lookup(cache_key(&[b"sid-4"]), None, || {
        async move {
            let _ = released.await;
            Err(SessionError::Unauthenticated(Reason::Ended, "logged out"))
        }
        .boxed()
    });
    // The client goes away while its lookup is pending.
    assert!(waiter.now_or_never().is_none());
    assert_eq!(cache.inner.metrics.entries.get(), 1);
    release.send(()).unwrap();
    while cache.inner.metrics.entries.get() != 0 {
        tokio::task::yield_now().await;
    }
    assert!(cache.inner.lock().map.is_empty());
}

#[tokio::test]
async fn lookups_in_flight_count_toward_the_capacity() {
    let cache = LookupCache::<Principal>::new(Duration::from_secs(60), 2, 100, metrics());
    let calls = Arc::new(AtomicUsize::new(0));
    let all = futures_util::future::join_all(
        (0..5u8)
            .map(|i| cache.get_or_lookup(cache_key(&[&[i]]), None, || counting(&calls, Ok("a")))),
    );
    assert!(all.await.iter().all(Result::is_ok));
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert!(cache.inner.lock().map.len() <= 2);
}
