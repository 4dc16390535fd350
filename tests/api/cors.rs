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
