//! The exact rules `realtime-token verify` and `TokenVerifier` apply (docs/src/endpoint.md,
//! "Verification rules"), pinned with tokens built by hand: the header and
//! claims are exactly what each case says, signed with HMAC-SHA256.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use realtime_token::token::unix_now;
use realtime_token::TokenVerifier;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS of exactly `header` and `claims`, HMAC-SHA256 with the test secret.
pub fn hs256(header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// Valid claims for the test configuration (issuer and audience set).
pub fn good_claims() -> Value {
    let now = unix_now();
    json!({
        "sub": "alice", "iat": now, "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE,
        "permissions": {"rooms": ["document-*"]}
    })
}

/// `good_claims()` with `changes` applied (`null` removes a claim).
pub fn claims_with(changes: Value) -> Value {
    let mut claims = good_claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

pub fn header() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

/// The library's verdict: the claims as JSON, or the error's message.
fn library(token: &str, leeway: &str) -> Result<Value, String> {
    let jwt = config_with(&[("JWT_LEEWAY", leeway)]).unwrap().jwt;
    TokenVerifier::new(&jwt)
        .verify(token)
        .map(|claims| serde_json::to_value(claims).unwrap())
        .map_err(|e| e.to_string())
}

/// The CLI's verdict, which must agree with the library's.
fn cli(token: &str, leeway: &str) -> Result<Value, String> {
    let out = run_cli(&[("JWT_LEEWAY", leeway)], &["verify", token]);
    if out.status.success() {
        Ok(serde_json::from_str(&stdout(&out)).unwrap())
    } else {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stdout(&out).is_empty(),
            "claims printed for a rejected token"
        );
        Err(stderr(&out))
    }
}

/// Asserts both verifiers reject `token` with a reason containing `reason`.
fn rejected(name: &str, token: &str, leeway: &str, reason: &str) {
    for (who, verdict) in [
        ("TokenVerifier", library(token, leeway)),
        ("verify", cli(token, leeway)),
    ] {
        match verdict {
            Ok(claims) => panic!("{name}: {who} accepted it: {claims}"),
            Err(e) => assert!(
                e.contains(reason),
                "{name}: {who} said {e:?}, want {reason:?}"
            ),
        }
    }
}

/// Asserts both verifiers accept `token` and returns the CLI's claims.
fn accepted(name: &str, token: &str, leeway: &str) -> Value {
    let claims = library(token, leeway).unwrap_or_else(|e| panic!("{name}: TokenVerifier: {e}"));
    assert_eq!(claims["sub"], "alice", "{name}");
    let printed = cli(token, leeway).unwrap_or_else(|e| panic!("{name}: verify: {e}"));
    assert_eq!(
        printed, claims,
        "{name}: the CLI prints the library's claims"
    );
    printed
}

#[test]
fn nbf_in_the_future_beyond_the_leeway_is_not_yet_valid() {
    let now = unix_now();
    let future = hs256(&header(), &claims_with(json!({"nbf": now + 3600})));
    rejected("nbf in 1 h", &future, "30s", "not yet valid");
    // The leeway covers clock skew on nbf as on exp.
    let soon = hs256(&header(), &claims_with(json!({"nbf": now + 60})));
    rejected("nbf in 60 s, no leeway", &soon, "0", "not yet valid");
    accepted("nbf in 60 s, 120 s leeway", &soon, "120s");
    let past = hs256(&header(), &claims_with(json!({"nbf": now - 60})));
    accepted("nbf 60 s ago", &past, "0");
}

#[test]
fn nbf_with_the_wrong_type_is_rejected() {
    for nbf in [json!("0"), json!(true), json!(-1), json!({})] {
        let token = hs256(&header(), &claims_with(json!({ "nbf": nbf })));
        rejected(
            &format!("nbf {nbf}"),
            &token,
            "30s",
            "`nbf` claim has the wrong type",
        );
    }
}

#[test]
fn a_crit_header_is_rejected() {
    let cases = [
        json!({"alg": "HS256", "typ": "JWT", "crit": ["exp"], "exp": 1}),
        json!({"alg": "HS256", "typ": "JWT", "crit": ["urn:example:policy"], "urn:example:policy": "x"}),
        // RFC 7797 unencoded payload: only takes effect when listed in crit.
        json!({"alg": "HS256", "typ": "JWT", "crit": ["b64"], "b64": false}),
        json!({"alg": "HS256", "typ": "JWT", "crit": ["b64"], "b64": true}),
        json!({"alg": "HS256", "typ": "JWT", "crit": []}),
        json!({"alg": "HS256", "typ": "JWT", "crit": "b64"}),
    ];
    for header in cases {
        let token = hs256(&header, &good_claims());
        rejected(&format!("header {header}"), &token, "30s", "`crit`");
    }
}

#[test]
fn any_alg_but_hs256_is_reported_as_not_hs256() {
    let claims = good_claims();
    let payload = b64(claims.to_string().as_bytes());
    let mut tokens = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
        // The classic forgery has an empty signature; a signed one must fail too.
        tokens.push((
            format!("alg {alg}, unsigned"),
            format!("{header}.{payload}."),
        ));
        tokens.push((
            format!("alg {alg}, HMAC"),
            hs256(&json!({"alg": alg, "typ": "JWT"}), &claims),
        ));
    }
    for alg in [
        json!("hs256"),
        json!("HS512"),
        json!("RS256"),
        json!(256),
        json!(null),
    ] {
        tokens.push((format!("alg {alg}"), hs256(&json!({"alg": alg}), &claims)));
    }
    tokens.push(("no alg".into(), hs256(&json!({"typ": "JWT"}), &claims)));
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    tokens.push(("real HS512".into(), hs512));
    for (name, token) in tokens {
        rejected(&name, &token, "30s", "not signed with HS256");
    }
}

#[test]
fn iat_is_optional_and_may_be_in_the_future() {
    let token = hs256(&header(), &claims_with(json!({"iat": null})));
    let claims = accepted("no iat", &token, "30s");
    assert!(claims.get("iat").is_none(), "no iat invented: {claims}");
    // As in jose without maxTokenAge: iat is not a validity bound.
    let iat = unix_now() + 3600;
    let token = hs256(&header(), &claims_with(json!({ "iat": iat })));
    assert_eq!(accepted("iat in 1 h", &token, "0")["iat"], iat);
}

#[test]
fn iat_with_the_wrong_type_is_rejected() {
    for iat in [json!("1700000000"), json!(true), json!(-1), json!([1])] {
        let token = hs256(&header(), &claims_with(json!({ "iat": iat })));
        rejected(
            &format!("iat {iat}"),
            &token,
            "30s",
            "`iat` claim has the wrong type",
        );
    }
}

#[test]
fn numeric_dates_may_have_fractions() {
    // RFC 7519 NumericDate allows them, and jose accepts them.
    let now = unix_now();
    let token = hs256(
        &header(),
        &claims_with(json!({"iat": now as f64 + 0.5, "exp": (now + 600) as f64 + 0.25})),
    );
    let claims = accepted("fractional iat and exp", &token, "0");
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 600);
}

#[test]
fn exp_and_sub_stay_required_iss_and_aud_checked_when_configured() {
    let now = unix_now();
    for (name, changes, reason) in [
        ("no exp", json!({"exp": null}), "`exp` claim is missing"),
        (
            "exp as text",
            json!({"exp": "soon"}),
            "`exp` claim has the wrong type",
        ),
        ("expired", json!({"exp": now - 3600}), "expired"),
        ("no sub", json!({"sub": null}), "`sub` claim is missing"),
        ("empty sub", json!({"sub": ""}), "`sub` claim is missing"),
        (
            "sub as number",
            json!({"sub": 5}),
            "`sub` claim has the wrong type",
        ),
        (
            "iss as number",
            json!({"iss": 5}),
            "`iss` claim has the wrong type",
        ),
        (
            "aud as number",
            json!({"aud": 5}),
            "`aud` claim has the wrong type",
        ),
        ("no iss", json!({"iss": null}), "`iss` claim is missing"),
        ("other iss", json!({"iss": "elsewhere"}), "issuer"),
        ("no aud", json!({"aud": null}), "`aud` claim is missing"),
        ("other aud", json!({"aud": "elsewhere"}), "audience"),
    ] {
        let token = hs256(&header(), &claims_with(changes));
        rejected(name, &token, "30s", reason);
    }
}

#[test]
fn the_service_claims_must_have_their_types_others_are_ignored() {
    for (name, changes) in [
        ("jti 7", json!({"jti": 7})),
        ("permissions as text", json!({"permissions": "*"})),
        ("rooms as text", json!({"permissions": {"rooms": "*"}})),
    ] {
        let token = hs256(&header(), &claims_with(changes));
        rejected(name, &token, "30s", "`payload` claim has the wrong type");
    }
    let token = hs256(
        &header(),
        &claims_with(json!({"org": ["acme"], "roles": 1})),
    );
    accepted("extra claims", &token, "30s");
}
