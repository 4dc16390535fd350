//! Hand-made JWS values for `hostile::jwt_cookie`: HS256 tokens signed here
//! (HMAC-SHA256, base64url) whose shape a verifier must still refuse.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub(super) const SECRET: &str = "hostile-jws-secret-0123456789abcdef-0123";

pub(super) fn b64u(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(super) fn part(value: &Value) -> String {
    b64u(value.to_string().as_bytes())
}

/// The HS256 signature of `input` under `key`, base64url.
pub(super) fn hs256(key: &[u8], input: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(input.as_bytes());
    b64u(&mac.finalize().into_bytes())
}

/// `<header>.<payload>` (already encoded) signed with HS256 under `key`.
pub(super) fn sign_raw(key: &[u8], header: &str, payload: &str) -> String {
    let input = format!("{header}.{payload}");
    let sig = hs256(key, &input);
    format!("{input}.{sig}")
}

pub(super) fn sign(key: &[u8], header: Value, claims: &Value) -> String {
    sign_raw(key, &part(&header), &part(claims))
}

pub(super) fn claims(sub: &str) -> Value {
    json!({"sub": sub, "exp": realtime_token::token::unix_now() + 600})
}

pub(super) fn hs() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

/// Tokens signed with the right secret whose shape must still be refused.
pub(super) fn secret_cases() -> Vec<(&'static str, String)> {
    let key = SECRET.as_bytes();
    let good = claims("mallory");
    let (h, p) = (part(&hs()), part(&good));
    let now = realtime_token::token::unix_now();
    let with_exp = |exp: &str| {
        sign_raw(
            key,
            &h,
            &b64u(format!(r#"{{"sub":"mallory","exp":{exp}}}"#).as_bytes()),
        )
    };
    vec![
        (
            "alg none",
            format!("{}.{p}.", part(&json!({"alg": "none"}))),
        ),
        (
            "alg None",
            format!("{}.{p}.", part(&json!({"alg": "None", "typ": "JWT"}))),
        ),
        ("alg none, signed", sign(key, json!({"alg": "none"}), &good)),
        ("alg NONE, signed", sign(key, json!({"alg": "NONE"}), &good)),
        ("alg hs256", sign(key, json!({"alg": "hs256"}), &good)),
        ("alg missing", sign(key, json!({"typ": "JWT"}), &good)),
        ("alg array", sign(key, json!({"alg": ["HS256"]}), &good)),
        ("alg HS512 (not listed)", {
            type H = Hmac<sha2::Sha512>;
            let input = format!("{}.{p}", part(&json!({"alg": "HS512"})));
            let mut mac = H::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            format!("{input}.{}", b64u(&mac.finalize().into_bytes()))
        }),
        (
            "huge header",
            sign(key, json!({"alg": "HS256", "x": "y".repeat(3000)}), &good),
        ),
        ("header not JSON", sign_raw(key, &b64u(b"alg=HS256"), &p)),
        (
            "header JSON array",
            sign_raw(key, &b64u(b"[\"HS256\"]"), &p),
        ),
        (
            "header with a duplicate alg",
            sign_raw(key, &b64u(br#"{"alg":"none","alg":"HS256"}"#), &p),
        ),
        ("payload not JSON", sign_raw(key, &h, &b64u(b"sub=mallory"))),
        ("payload a string", sign_raw(key, &h, &b64u(b"\"mallory\""))),
        (
            "payload an array",
            sign_raw(key, &h, &b64u(b"[{\"sub\":\"mallory\"}]")),
        ),
        (
            "payload not base64",
            sign_raw(key, &h, "{\"sub\":\"mallory\"}"),
        ),
        (
            "payload padded base64",
            sign_raw(key, &h, &format!("{p}==")),
        ),
        ("payload standard base64", {
            // `???>>>` encodes to URL-safe `_` and `-`, here `/` and `+`.
            let odd = json!({"sub": "mallory", "x": "???>>>", "exp": now + 600});
            let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode(odd.to_string());
            assert!(standard.contains(['+', '/']), "{standard}");
            sign_raw(key, &h, &standard)
        }),
        ("one segment", hs256(key, "")),
        ("two segments", {
            let s = hs256(key, &h);
            format!("{h}.{s}")
        }),
        ("four segments", {
            let m = format!("{h}.{p}.{p}");
            format!("{m}.{}", hs256(key, &m))
        }),
        ("five segments", {
            let m = format!("{h}.{p}.e30.e30");
            format!("{m}.{}", hs256(key, &m))
        }),
        ("leading dot", format!(".{}", sign_raw(key, &h, &p))),
        ("trailing dot", format!("{}.", sign_raw(key, &h, &p))),
        ("doubled dot", {
            let m = format!("{h}..{p}");
            format!("{m}.{}", hs256(key, &m))
        }),
        ("empty payload", sign_raw(key, &h, "")),
        ("empty header", sign_raw(key, "", &p)),
        (
            "crit exp",
            sign(key, json!({"alg": "HS256", "crit": ["exp"]}), &good),
        ),
        (
            "crit unknown",
            sign(
                key,
                json!({"alg": "HS256", "crit": ["x-policy"], "x-policy": 1}),
                &good,
            ),
        ),
        (
            "crit empty",
            sign(key, json!({"alg": "HS256", "crit": []}), &good),
        ),
        (
            "crit null (found by the jwt_cookie fuzz target)",
            sign(key, json!({"alg": "HS256", "crit": null}), &good),
        ),
        (
            "b64 null",
            sign(key, json!({"alg": "HS256", "b64": null}), &good),
        ),
        (
            "crit not a list",
            sign(key, json!({"alg": "HS256", "crit": "b64"}), &good),
        ),
        ("b64 false, raw payload", {
            let header = part(&json!({"alg": "HS256", "b64": false, "crit": ["b64"]}));
            sign_raw(key, &header, &good.to_string())
        }),
        (
            "b64 false, encoded payload",
            sign(
                key,
                json!({"alg": "HS256", "b64": false, "crit": ["b64"]}),
                &good,
            ),
        ),
        (
            "b64 false, no crit",
            sign(key, json!({"alg": "HS256", "b64": false}), &good),
        ),
        (
            "kid /dev/null, empty key",
            sign(b"", json!({"alg": "HS256", "kid": "/dev/null"}), &good),
        ),
        (
            "kid path, file bytes as key",
            sign(
                b"root:x:0:0:root:/root:/bin/bash\n",
                json!({"alg": "HS256", "kid": "../../../../etc/passwd"}),
                &good,
            ),
        ),
        (
            "kid SQL, chosen key",
            sign(
                b"k",
                json!({"alg": "HS256", "kid": "x' UNION SELECT 'k"}),
                &good,
            ),
        ),
        (
            "kid URL, chosen key",
            sign(
                b"k",
                json!({"alg": "HS256", "kid": "http://127.0.0.1:9/k", "jku": "http://127.0.0.1:9/jwks"}),
                &good,
            ),
        ),
        (
            "embedded oct jwk",
            sign(
                b"k",
                json!({"alg": "HS256", "jwk": {"kty": "oct", "k": b64u(b"k")}}),
                &good,
            ),
        ),
        ("exp 1e400", with_exp("1e400")),
        ("exp 20 digits", with_exp("99999999999999999999")),
        ("exp 400 digits", with_exp(&"9".repeat(400))),
        ("exp negative", with_exp("-1")),
        ("exp a string", with_exp(&format!("\"{}\"", now + 600))),
        ("exp null", with_exp("null")),
        ("exp passed", with_exp(&(now - 3600).to_string())),
        (
            "nbf 20 digits",
            sign_raw(
                key,
                &h,
                &b64u(
                    format!(
                        r#"{{"sub":"mallory","exp":{},"nbf":99999999999999999999}}"#,
                        now + 600
                    )
                    .as_bytes(),
                ),
            ),
        ),
        (
            "wrong secret",
            sign(b"hostile-jws-secret-0123456789abcdef-0124", hs(), &good),
        ),
        ("signature cut", {
            let t = sign(key, hs(), &good);
            t[..t.len() - 2].to_owned()
        }),
        ("signature padded", format!("{}=", sign(key, hs(), &good))),
        ("signature doubled", {
            let t = sign(key, hs(), &good);
            let s = t.rsplit('.').next().unwrap().to_owned();
            format!("{t}{s}")
        }),
    ]
}
