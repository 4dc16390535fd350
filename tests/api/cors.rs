use crate::support::*;

#[tokio::test]
async fn preflight_from_an_allowed_origin_is_answered() {
    let app = spawn_app().await;
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/realtime-token"))
        .header("Origin", ALLOWED_ORIGIN)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], ALLOWED_ORIGIN);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase()
        .contains("content-type"));
    assert!(h.get_all("vary").iter().any(|v| v == "Origin"));
}

#[tokio::test]
async fn preflight_from_another_origin_is_403_without_cors_headers() {
    let app = spawn_app().await;
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/realtime-token"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    expect_error(res, 403, "origin_not_allowed").await;
}

#[tokio::test]
async fn credentialed_post_from_an_allowed_origin_gets_cors_headers_on_success_and_error() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/realtime-token"))
        .header("Origin", ALLOWED_ORIGIN)
        .header("Sec-Fetch-Site", "same-site")
        .header("Cookie", app.cookie("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], ALLOWED_ORIGIN);
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    expect_token(res).await;

    let res = app
        .client
        .post(app.url("/api/realtime-token"))
        .header("Origin", ALLOWED_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], ALLOWED_ORIGIN);
    expect_error(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn cross_site_post_from_a_disallowed_origin_is_403_even_with_a_valid_cookie() {
    let app = spawn_app().await;
    for (origin, site) in [
        (Some("https://evil.example"), Some("cross-site")),
        (Some("https://evil.example"), None),
        (Some("null"), None),
        (Some("http://localhost:3000.evil.example"), None),
        (None, Some("cross-site")),
    ] {
        let mut req = app
            .client
            .post(app.url("/api/realtime-token"))
            .header("Cookie", app.cookie("alice"));
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        if let Some(s) = site {
            req = req.header("Sec-Fetch-Site", s);
        }
        let res = req.send().await.unwrap();
        assert!(res.headers().get("access-control-allow-origin").is_none());
        expect_error(res, 403, "origin_not_allowed").await;
    }
}

#[tokio::test]
async fn same_origin_and_non_browser_callers_pass_the_guard() {
    let app = spawn_app().await;
    let host = app.base.trim_start_matches("http://").to_owned();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[], "no Origin (curl)"),
        (
            &[
                ("Sec-Fetch-Site", "same-origin"),
                ("Origin", "https://anything.example"),
            ],
            "Sec-Fetch-Site same-origin",
        ),
        (&[("Origin", "SELF")], "Origin equal to Host"),
    ];
    for (headers, what) in cases {
        let mut req = app
            .client
            .post(app.url("/api/realtime-token"))
            .header("Cookie", app.cookie("alice"));
        for (k, v) in headers {
            let v = if *v == "SELF" {
                format!("http://{host}")
            } else {
                (*v).to_owned()
            };
            req = req.header(*k, v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "{what}");
    }
}

/// POSTs alice's cookie with an `Origin` and no `Sec-Fetch-Site` (a browser
/// that does not send it), plus `headers` as a proxy would add them.
async fn guarded_status(app: &TestApp, origin: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = app
        .client
        .post(app.url("/api/realtime-token"))
        .header("Cookie", app.cookie("alice"))
        .header("Origin", origin);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap().status().as_u16()
}

const APP_ORIGIN: &str = "https://app.example.com";

#[tokio::test]
async fn behind_a_trusted_rewrite_the_forwarded_host_is_the_own_host() {
    // Next.js rewrites() replace Host with the service's and set
    // X-Forwarded-Host to the one the browser asked for.
    let rewrite = [("X-Forwarded-Host", "app.example.com")];
    let trusted = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    assert_eq!(guarded_status(&trusted, APP_ORIGIN, &rewrite).await, 200);
    // The scheme's default port is the same origin; another host is not.
    let port = [("X-Forwarded-Host", "APP.example.com:443")];
    assert_eq!(guarded_status(&trusted, APP_ORIGIN, &port).await, 200);
    let evil = "https://evil.example";
    assert_eq!(guarded_status(&trusted, evil, &rewrite).await, 403);
    assert_eq!(
        guarded_status(&trusted, "http://app.example.com:8443", &rewrite).await,
        403
    );
    // The proxy's own value is the last one; an earlier one is not it.
    let appended = [("X-Forwarded-Host", "app.example.com, internal:3000")];
    assert_eq!(guarded_status(&trusted, APP_ORIGIN, &appended).await, 403);
    // Under the default header, `Forwarded: host=` is not read.
    let rfc = [("Forwarded", "for=203.0.113.7;host=app.example.com")];
    assert_eq!(guarded_status(&trusted, APP_ORIGIN, &rfc).await, 403);

    // The same headers from a peer that is not a trusted proxy: today's rule.
    for untrusted in [&[][..], &[("TRUSTED_PROXIES", "10.0.0.1")][..]] {
        let app = spawn_app_with(untrusted).await;
        assert_eq!(
            guarded_status(&app, APP_ORIGIN, &rewrite).await,
            403,
            "{untrusted:?}"
        );
    }
}

#[tokio::test]
async fn with_trusted_proxy_header_forwarded_the_host_parameter_is_the_own_host() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("TRUSTED_PROXY_HEADER", "forwarded"),
    ])
    .await;
    let cases: [(&str, u16, &str); 5] = [
        (
            "for=203.0.113.7;host=app.example.com;proto=https",
            200,
            "one hop",
        ),
        ("for=203.0.113.7;host=\"app.example.com\"", 200, "quoted"),
        // Two trusted hops: the outermost one saw the browser's host.
        (
            "for=203.0.113.7;host=app.example.com, for=127.0.0.1;host=\"127.0.0.1:3000\"",
            200,
            "the outermost trusted hop",
        ),
        // Written by the client, beyond the first untrusted hop: ignored.
        (
            "for=6.6.6.6;host=app.example.com, for=203.0.113.7;host=\"127.0.0.1:3000\"",
            403,
            "a hop past the client",
        ),
        ("for=203.0.113.7;proto=https", 403, "no host"),
    ];
    for (forwarded, status, what) in cases {
        let got = guarded_status(&app, APP_ORIGIN, &[("Forwarded", forwarded)]).await;
        assert_eq!(got, status, "{what}");
    }
    // X-Forwarded-Host is the other header: not read.
    let xfh = [("X-Forwarded-Host", "app.example.com")];
    assert_eq!(guarded_status(&app, APP_ORIGIN, &xfh).await, 403);
}
