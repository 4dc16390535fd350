//! Which address a request is rate-limited and logged under: the header a
//! trusted proxy sets (`TRUSTED_PROXY_HEADER`), IPv6 prefixes
//! (`RATE_LIMIT_IPV6_PREFIX`), IPv4-mapped addresses and a dual-stack
//! listener (`HOST=::`).
//!
//! Buckets are observed with `RATE_LIMIT_IP=1/m`: a fresh address gets 401
//! (no cookie), a second request in the same bucket gets 429.

use crate::support::*;

type Headers<'a> = &'a [(&'a str, &'a str)];

/// The app behind a trusted proxy at 127.0.0.1, one request per address.
async fn spawn(extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        ("RATE_LIMIT_IP", "1/m"),
        ("RATE_LIMIT_SUBJECT", "off"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ];
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// POSTs without a cookie (each header appended): 401 or 429.
async fn status(app: &TestApp, headers: Headers<'_>) -> u16 {
    let mut req = app.client.post(app.url("/api/realtime-token"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Whether `second` is limited in the bucket that `first` (whose address
/// must be fresh) has just used up.
async fn share_bucket(app: &TestApp, first: Headers<'_>, second: Headers<'_>) -> bool {
    assert_eq!(
        status(app, first).await,
        401,
        "{first:?} needs a fresh bucket"
    );
    match status(app, second).await {
        429 => true,
        401 => false,
        other => panic!("unexpected status {other} for {second:?}"),
    }
}

const XFF: &str = "X-Forwarded-For";
const FWD: &str = "Forwarded";

#[tokio::test]
async fn by_default_only_x_forwarded_for_is_read_from_a_trusted_proxy() {
    for setting in [&[][..], &[("TRUSTED_PROXY_HEADER", "x-forwarded-for")][..]] {
        let app = spawn(setting).await;
        // Both headers: the client's own `Forwarded` changes nothing.
        assert!(
            share_bucket(
                &app,
                &[(XFF, "10.0.0.1"), (FWD, "for=10.0.0.9")],
                &[(XFF, "10.0.0.1"), (FWD, "for=10.0.0.8")],
            )
            .await
        );
        assert!(
            !share_bucket(
                &app,
                &[(FWD, "for=10.0.0.9"), (XFF, "10.0.0.2")],
                &[(FWD, "for=10.0.0.9"), (XFF, "10.0.0.3")],
            )
            .await
        );
        // `Forwarded` alone is ignored too: the request counts as the proxy's.
        assert!(
            share_bucket(&app, &[(FWD, "for=10.0.0.4")], &[(FWD, "for=10.0.0.5")]).await,
            "{setting:?}"
        );
    }
}

#[tokio::test]
async fn with_trusted_proxy_header_forwarded_only_forwarded_is_read() {
    let app = spawn(&[("TRUSTED_PROXY_HEADER", "forwarded")]).await;
    // Both headers: a spoofed `X-Forwarded-For` neither escapes the bucket...
    assert!(
        share_bucket(
            &app,
            &[(XFF, "10.0.0.9"), (FWD, "for=10.0.0.1")],
            &[(XFF, "10.0.0.8"), (FWD, "for=10.0.0.1")],
        )
        .await
    );
    // ...nor picks another client's bucket.
    assert!(
        !share_bucket(
            &app,
            &[(FWD, "for=10.0.0.2"), (XFF, "10.0.0.7")],
            &[(FWD, "for=10.0.0.3"), (XFF, "10.0.0.7")],
        )
        .await
    );
    // RFC 7239 syntax: parameters, quoting, ports, several elements and
    // header lines; the nearest untrusted hop counts.
    assert!(
        share_bucket(
            &app,
            &[(FWD, "for=6.6.6.6, For=\"10.0.0.4:4711\";proto=https;by=_lb")],
            &[(FWD, "for=7.7.7.7"), (FWD, "proto=https;for=10.0.0.4")],
        )
        .await
    );
    assert!(
        share_bucket(
            &app,
            &[(FWD, "for=\"[2001:db8:5::1]:4711\"")],
            &[(FWD, "for=\"[2001:db8:5::2]\"")],
        )
        .await
    );
    // `X-Forwarded-For` alone is ignored: the request counts as the proxy's.
    assert!(share_bucket(&app, &[(XFF, "10.0.0.5")], &[(XFF, "10.0.0.6")]).await);
}

#[test]
fn a_bad_trusted_proxy_header_is_refused_naming_the_fix() {
    let errors = config_with(&[("TRUSTED_PROXY_HEADER", "x-real-ip")]).unwrap_err();
    assert!(errors.mentions("TRUSTED_PROXY_HEADER"), "{errors}");
    let msg = errors.to_string();
    assert!(
        msg.contains("`x-forwarded-for`") && msg.contains("`forwarded`"),
        "{msg}"
    );
    for good in ["forwarded", "X-Forwarded-For", "x-forwarded-for"] {
        config_with(&[("TRUSTED_PROXY_HEADER", good)]).expect(good);
    }
}

#[tokio::test]
async fn ipv6_clients_are_limited_per_64_by_default() {
    let app = spawn(&[]).await;
    assert!(share_bucket(&app, &[(XFF, "2001:db8::1")], &[(XFF, "2001:db8::2")]).await);
    assert!(
        share_bucket(
            &app,
            &[(XFF, "2001:db8:0:1::1")],
            &[(XFF, "2001:db8:0:1:ffff:ffff:ffff:ffff")],
        )
        .await
    );
    assert!(
        !share_bucket(
            &app,
            &[(XFF, "2001:db8:0:2::1")],
            &[(XFF, "2001:db8:0:3::1")]
        )
        .await
    );
}

#[tokio::test]
async fn the_ipv6_prefix_is_configurable() {
    let app = spawn(&[("RATE_LIMIT_IPV6_PREFIX", "48")]).await;
    assert!(
        share_bucket(
            &app,
            &[(XFF, "2001:db8:0:1::1")],
            &[(XFF, "2001:db8:0:2::1")]
        )
        .await
    );
    assert!(!share_bucket(&app, &[(XFF, "2001:db8:1::1")], &[(XFF, "2001:db8:2::1")]).await);
    let app = spawn(&[("RATE_LIMIT_IPV6_PREFIX", "128")]).await;
    assert!(!share_bucket(&app, &[(XFF, "2001:db8::1")], &[(XFF, "2001:db8::2")]).await);
}

#[test]
fn a_bad_ipv6_prefix_is_refused_naming_the_fix() {
    for bad in ["31", "129", "0", "sixty-four", "/64", "-64"] {
        let errors = config_with(&[("RATE_LIMIT_IPV6_PREFIX", bad)]).unwrap_err();
        assert!(errors.mentions("RATE_LIMIT_IPV6_PREFIX"), "{bad}: {errors}");
        assert!(errors.to_string().contains("32 to 128"), "{errors}");
    }
    for good in ["32", "56", "64", "128"] {
        config_with(&[("RATE_LIMIT_IPV6_PREFIX", good)]).expect(good);
    }
}

#[tokio::test]
async fn an_ipv4_mapped_address_shares_the_ipv4_bucket() {
    let app = spawn(&[]).await;
    assert!(share_bucket(&app, &[(XFF, "::ffff:10.0.0.1")], &[(XFF, "10.0.0.1")]).await);
    assert!(
        share_bucket(
            &app,
            &[(XFF, "10.0.0.2")],
            &[(XFF, "[::ffff:10.0.0.2]:443")]
        )
        .await
    );
    // Mapped addresses are not folded into one IPv6 /64 either.
    assert!(
        !share_bucket(
            &app,
            &[(XFF, "::ffff:10.0.0.3")],
            &[(XFF, "::ffff:10.0.0.4")]
        )
        .await
    );
}

#[tokio::test]
async fn a_dual_stack_listener_still_trusts_an_ipv4_proxy() {
    // HOST=:: accepts IPv4 connections as `::ffff:127.0.0.1`.
    let app = spawn(&[("HOST", "::"), ("TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8")]).await;
    assert!(!share_bucket(&app, &[(XFF, "6.6.6.1")], &[(XFF, "6.6.6.2")]).await);
    // Forwarded entries are canonicalised before matching too: a mapped
    // trusted hop is skipped.
    assert!(
        share_bucket(
            &app,
            &[(XFF, "6.6.6.3, ::ffff:10.1.1.1")],
            &[(XFF, "6.6.6.3")],
        )
        .await
    );
}

#[tokio::test]
async fn the_access_log_shows_the_canonical_client_address_not_its_bucket() {
    let server = tokio::task::spawn_blocking(|| {
        ServerProcess::start(&[
            ("HOST", "::"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("LOG_FORMAT", "json"),
        ])
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    for xff in [None, Some("::ffff:10.0.0.7"), Some("2001:db8::1")] {
        let mut req = client.post(server.url("/api/realtime-token"));
        if let Some(xff) = xff {
            req = req.header(XFF, xff);
        }
        assert_eq!(req.send().await.unwrap().status(), 401);
    }
    server.terminate();
    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.wait_exit();
        server
    })
    .await
    .unwrap();
    let log = server.log_text();
    let ips: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["target"] == "access")
        .map(|l| l["ip"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ips, ["127.0.0.1", "10.0.0.7", "2001:db8::1"], "{log}");
}
