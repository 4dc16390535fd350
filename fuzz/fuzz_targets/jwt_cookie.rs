//! `jwt-cookie`: Cookie header → `find_cookie` → `Verifier::verify` against
//! the key rings the real settings build (`JwtSettings::from_config`): an
//! HMAC secret (HS256, HS512), an RSA PEM key and a JWKS file holding it
//! (RS256, PS256, and ES256 for the JWKS).
//!
//! Properties: nothing panics; under the secret, a token that verifies has
//! an `alg` of HS256 or HS512, no `crit` and no `b64` but `true`, and
//! carries exactly the HMAC of its `<header>.<payload>` under that
//! algorithm (computed here independently, base64url without padding);
//! under the RSA key, the only token that verifies is the one jose signed
//! (RSASSA-PKCS1-v1_5 signatures are unique, so no edit can verify).
//!
//! Random bytes almost never carry a valid MAC, so most of the input space
//! builds a token signed with the secret (or the PEM as an HMAC secret, or
//! nothing) from fuzzed header parameters and claims, or edits the RS256
//! token, and lets the fuzzer edit the result.

#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header::{HeaderMap, HeaderValue, COOKIE};
use arbitrary::Arbitrary;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use realtime_token::session::codec::jwt::{JwtSettings, KeyRing, KeySource, Verifier};
use realtime_token::session::cookies::find_cookie;
use realtime_token::Config;
use serde_json::Value;
use sha2::{Sha256, Sha512};

#[path = "../common/edit.rs"]
mod edit;
use edit::edit;

const SECRET: &str = "fuzz-jwt-cookie-secret-0123456789abcdef";
const NAME: &str = "__session";
// An RSA key and an RS256 token (kid `fuzz-rsa`, sub alice, exp in 2102)
// written by jose 6.2.18 (tests/formats/jwt-cookie/write.mjs).
const PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApY4RdkgxyUADR+UNUt+l
oW8NUkbaHU8GokAMYKicw9q8hwS2bTUEQpukeInqfGtLctDdIDgUgQMa6mZ7uNsg
XFF54CJ7K6ouDeiVQwaUoX/o9MFMDFt7MmD/SFgouKkS099XJqNkW1ybTdbRY3KH
1wSp7Kl69tqylC//ELYsGAKNz3mktoq2/xOZAm8y+IxYsjh9aBUzvyv0Xio+DSX1
rEg0doY3kbdYek7RcNOQyosgPpbDjDmDxORzcfmQ6YM75oiDXZbpz7Z2jMm/pwag
Ovvy91+paVmpyoIu0pBBDJBYg31rGCMEY+RY1Rc8FGLmEq1z1Yj+VX574E+wjXCs
VQIDAQAB
-----END PUBLIC KEY-----";
const JWK_N: &str = "pY4RdkgxyUADR-UNUt-loW8NUkbaHU8GokAMYKicw9q8hwS2bTUEQpukeInqfGtLctDdIDgUgQMa6mZ7uNsgXFF54CJ7K6ouDeiVQwaUoX_o9MFMDFt7MmD_SFgouKkS099XJqNkW1ybTdbRY3KH1wSp7Kl69tqylC__ELYsGAKNz3mktoq2_xOZAm8y-IxYsjh9aBUzvyv0Xio-DSX1rEg0doY3kbdYek7RcNOQyosgPpbDjDmDxORzcfmQ6YM75oiDXZbpz7Z2jMm_pwagOvvy91-paVmpyoIu0pBBDJBYg31rGCMEY-RY1Rc8FGLmEq1z1Yj-VX574E-wjXCsVQ";
const RS_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImZ1enotcnNhIn0.eyJpYXQiOjE3OTU5MjI5NTUsInN1YiI6ImFsaWNlIiwiZXhwIjo0MTk1OTIyOTU1fQ.RvCecaQPXLIerMwYy4JQKWvNyeY2eTqAC7_683oVSFRCoLMLB4wwde0_4pNYBx43DhAXBWHrTH7o3gX-sSJ3_jd1wH_MFvhNO5xXegbmC6XsvNoA3PZHJ73WiuSkZNGHHWx2HfsAPYlkCzLFgiA-9KvCTUJVUqO3FsrgiSzNcFBbSfc07_0lG9JVf6Giy9PEhoIkEKHJYFiBEgCz-s3eXeafAP0ztsy6WkmQ3a1Wy_DGGaFlf0bgPc6o0Sse42t3Zv3tDqWSVT7Xq8buPoV1DUArNMZ48KAuVbG-Mrst4V9UwA3vWxran_Iizi-M9ZHo5FSrlKQ37DndKCawy6STFw";

struct Ring {
    verifier: Verifier,
    ring: KeyRing,
}

/// The rings the settings build: secret, PEM, JWKS file.
fn rings() -> &'static [Ring; 3] {
    static RINGS: OnceLock<[Ring; 3]> = OnceLock::new();
    RINGS.get_or_init(|| {
        let jwks = std::env::temp_dir().join(format!("fuzz-jwt-cookie-{}.json", std::process::id()));
        let doc = serde_json::json!({"keys": [{"kty": "RSA", "n": JWK_N, "e": "AQAB", "kid": "fuzz-rsa"}]});
        std::fs::write(&jwks, doc.to_string()).unwrap();
        let path = jwks.clone();
        let jwks = jwks.to_str().unwrap();
        let rings = [
            ring(&[("SESSION_JWT_KEY", SECRET), ("SESSION_JWT_ALGORITHMS", "HS256,HS512")]),
            ring(&[("SESSION_JWT_KEY", PEM), ("SESSION_JWT_ALGORITHMS", "RS256,PS256")]),
            ring(&[("SESSION_JWKS_FILE", jwks), ("SESSION_JWT_ALGORITHMS", "RS256,PS256,ES256")]),
        ];
        // Read at start-up only.
        let _ = std::fs::remove_file(path);
        // The properties are not vacuous: the untouched tokens verify.
        let plain = build(Input::Signed {
            hs512: false,
            key: Key::Secret,
            header: vec![],
            claims: vec![],
            exp: None,
            tamper: vec![],
            truncate: None,
        });
        let plain = String::from_utf8(plain).unwrap();
        let plain = plain.strip_prefix("__session=").unwrap();
        assert!(rings[0].verifier.verify(plain, &rings[0].ring).is_ok());
        for r in &rings[1..] {
            assert!(r.verifier.verify(RS_TOKEN, &r.ring).is_ok());
        }
        rings
    })
}

fn ring(keys: &[(&str, &str)]) -> Ring {
    let mut env: HashMap<&str, &str> = HashMap::from([
        ("JWT_SECRET", "fuzz-service-jwt-secret-0123456789abcdef"),
        ("JWT_ISSUER", "fuzz"),
        ("JWT_AUDIENCE", "fuzz"),
        ("REALTIME_ROOMS", "document-*"),
        ("SESSION_BACKEND", "jwt-cookie"),
        ("SESSION_COOKIE", NAME),
    ]);
    env.extend(keys.iter().copied());
    let config = Config::from_lookup(&|k| env.get(k).map(|v| (*v).to_owned())).expect("config");
    let settings = JwtSettings::from_config(&config.session)
        .map_err(|e| e.message)
        .expect("settings");
    let KeySource::Fixed(ring) = settings.keys else {
        panic!("a fixed key ring")
    };
    Ring {
        verifier: settings.verifier,
        ring,
    }
}

/// A JSON value, rendered as text (so keys can repeat, numbers can be huge).
#[derive(Arbitrary, Debug)]
enum Json {
    Str(String),
    Int(i64),
    Digits(u8),
    Bool(bool),
    Null,
    List(Vec<String>),
}

impl Json {
    fn text(&self) -> String {
        match self {
            Json::Str(s) => Value::from(s.as_str()).to_string(),
            Json::Int(n) => n.to_string(),
            Json::Digits(n) => "9".repeat(usize::from(*n)),
            Json::Bool(b) => b.to_string(),
            Json::Null => "null".into(),
            Json::List(l) => Value::from(l.clone()).to_string(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Param {
    Alg,
    Kid,
    Crit,
    B64,
    Typ,
    Jwk,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Key {
    Secret,
    Pem,
    Empty,
    Unsigned,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(Vec<u8>),
    Signed {
        hs512: bool,
        key: Key,
        header: Vec<(Param, Json)>,
        claims: Vec<(String, Json)>,
        exp: Option<Json>,
        tamper: Vec<(u16, u8)>,
        truncate: Option<u16>,
    },
    EditRs {
        tamper: Vec<(u16, u8)>,
        truncate: Option<u16>,
        append: String,
    },
}

fn b64u(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn mac(hs512: bool, key: &[u8], input: &str) -> String {
    if hs512 {
        let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        b64u(&mac.finalize().into_bytes())
    } else {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        b64u(&mac.finalize().into_bytes())
    }
}

fn object(members: impl Iterator<Item = (String, String)>) -> String {
    let body: Vec<String> = members
        .map(|(k, v)| format!("{}:{v}", Value::from(k)))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn build(input: Input) -> Vec<u8> {
    match input {
        Input::Raw(bytes) => bytes,
        Input::Signed {
            hs512,
            key,
            header,
            claims,
            exp,
            tamper,
            truncate,
        } => {
            let alg = if hs512 { "HS512" } else { "HS256" };
            let params = header.into_iter().take(6).map(|(p, v)| {
                let name = match p {
                    Param::Alg => "alg".to_owned(),
                    Param::Kid => "kid".to_owned(),
                    Param::Crit => "crit".to_owned(),
                    Param::B64 => "b64".to_owned(),
                    Param::Typ => "typ".to_owned(),
                    Param::Jwk => "jwk".to_owned(),
                    Param::Other(name) => name,
                };
                (name, v.text())
            });
            let header = object(
                [("alg".to_owned(), Value::from(alg).to_string())]
                    .into_iter()
                    .chain(params),
            );
            let exp = exp.map_or_else(|| "4102444800".to_owned(), |e| e.text());
            let members = [
                ("sub".to_owned(), "\"alice\"".to_owned()),
                ("exp".to_owned(), exp),
            ];
            let claims = object(
                members
                    .into_iter()
                    .chain(claims.into_iter().take(6).map(|(k, v)| (k, v.text()))),
            );
            let input = format!("{}.{}", b64u(header.as_bytes()), b64u(claims.as_bytes()));
            let sig = match key {
                Key::Secret => mac(hs512, SECRET.as_bytes(), &input),
                Key::Pem => mac(hs512, PEM.as_bytes(), &input),
                Key::Empty => mac(hs512, b"", &input),
                Key::Unsigned => String::new(),
            };
            edit(
                format!("{NAME}={input}.{sig}").into_bytes(),
                tamper,
                truncate,
            )
        }
        Input::EditRs {
            tamper,
            truncate,
            append,
        } => {
            let mut bytes = edit(format!("{NAME}={RS_TOKEN}").into_bytes(), tamper, truncate);
            bytes.extend_from_slice(append.as_bytes());
            bytes
        }
    }
}

/// Whether `token` carries the MAC its (HS256 or HS512, extension-free)
/// header names, under the secret.
fn signed_by_secret(token: &str) -> bool {
    let Some((input, sig)) = token.rsplit_once('.') else {
        return false;
    };
    let Some((header, _)) = input.split_once('.') else {
        return false;
    };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else {
        return false;
    };
    let Ok(header) = serde_json::from_slice::<Value>(&bytes) else {
        return false;
    };
    let hs512 = match header["alg"].as_str() {
        Some("HS256") => false,
        Some("HS512") => true,
        _ => return false,
    };
    let plain =
        header.get("crit").is_none() && header.get("b64").is_none_or(|b| *b == Value::Bool(true));
    plain && mac(hs512, SECRET.as_bytes(), input) == sig
}

fuzz_target!(|input: Input| {
    let Ok(value) = HeaderValue::from_bytes(&build(input)) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, value);
    let Some(token) = find_cookie(&headers, NAME) else {
        return;
    };
    let [secret, pem, jwks] = rings();
    if secret.verifier.verify(&token, &secret.ring).is_ok() {
        assert!(
            signed_by_secret(&token),
            "verified {token:?} without the secret's MAC"
        );
    }
    for (what, ring) in [("PEM", pem), ("JWKS", jwks)] {
        if ring.verifier.verify(&token, &ring.ring).is_ok() {
            assert_eq!(token, RS_TOKEN, "{what} verified an edited token");
        }
    }
});
