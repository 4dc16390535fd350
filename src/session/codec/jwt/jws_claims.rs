//! The claim checks of a `jwt-cookie` token once its signature is good:
//! `exp` required, `exp` / `nbf` with [`LEEWAY_SECS`], and `iss` / `aud`
//! when configured. They follow `jsonwebtoken`'s `Validation` (which needs
//! its own signature check, so cannot run after `ring`'s): a number may be
//! an integer or a float, `iss` / `aud` a string or an array of strings
//! that must contain the configured value.

use serde_json::Value;

use crate::session::{Reason, SessionError};

/// Clock skew tolerated on `exp` and `nbf`, in seconds. Fixed: the
/// service's `JWT_LEEWAY` belongs to the tokens it issues and is not part
/// of the session settings.
pub const LEEWAY_SECS: u64 = 30;

const LACKS: Refusal = Refusal::Invalid("the session token lacks exp, iss or aud");
const INVALID: Refusal = Refusal::Invalid("the session token is invalid");

/// When a token may be used: its `exp` and `nbf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// `exp`, in seconds since the epoch.
    pub exp: u64,
    /// `nbf`, when the token has one.
    pub nbf: Option<u64>,
}

impl Lifetime {
    /// Whether the token may be used at `now` (seconds since the epoch).
    pub fn check(&self, now: u64) -> Result<(), Refusal> {
        if self.exp < now.saturating_sub(LEEWAY_SECS) {
            return Err(Refusal::Invalid("the session token has expired"));
        }
        if self
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS))
        {
            return Err(Refusal::Invalid("the session token is not valid yet"));
        }
        Ok(())
    }
}

/// The configured `iss` and `aud`.
#[derive(Debug, Clone, Default)]
pub struct ClaimRules {
    /// `SESSION_JWT_ISSUER`: the required `iss`.
    pub issuer: Option<String>,
    /// `SESSION_JWT_AUDIENCE`: a required `aud` member.
    pub audience: Option<String>,
}

impl ClaimRules {
    /// Checks `claims` at `now`; the token's lifetime when they pass.
    pub fn check(&self, claims: &Value, now: u64) -> Result<Lifetime, Refusal> {
        let claims = claims.as_object().ok_or(INVALID)?;
        let exp = claims.get("exp").ok_or(LACKS)?;
        let issuer = self.issuer.as_deref().map(|want| {
            let got = claims.get("iss").and_then(strings).ok_or(LACKS)?;
            Ok(got.contains(&want))
        });
        let audience = self.audience.as_deref().map(|want| {
            let got = claims.get("aud").and_then(strings).ok_or(LACKS)?;
            Ok(got.contains(&want))
        });
        // Missing claims first, as jsonwebtoken does.
        let issuer = issuer.transpose()?;
        let audience = audience.transpose()?;
        let lifetime = Lifetime {
            exp: seconds(exp).ok_or(INVALID)?,
            nbf: claims
                .get("nbf")
                .map(|nbf| seconds(nbf).ok_or(INVALID))
                .transpose()?,
        };
        lifetime.check(now)?;
        if issuer == Some(false) {
            return Err(Refusal::Invalid(
                "the session token's issuer is not accepted",
            ));
        }
        if audience == Some(false) {
            return Err(Refusal::Invalid(
                "the session token's audience is not accepted",
            ));
        }
        Ok(lifetime)
    }
}

/// A NumericDate: a non-negative integer, or a float (rounded).
fn seconds(value: &Value) -> Option<u64> {
    let n = value.as_number()?;
    n.as_u64().or_else(|| {
        let f = n.as_f64()?;
        (f.is_finite() && f >= 0.0 && f < u64::MAX as f64).then(|| f.round() as u64)
    })
}

/// A string or an array of strings; `None` for anything else.
fn strings(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No key in the ring fits the token's `kid` and `alg` (a fresher JWKS
    /// might have it).
    UnknownKey,
    /// Anything else: malformed, forged, expired, wrong issuer or audience.
    Invalid(&'static str),
}

impl From<Refusal> for SessionError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::UnknownKey => {
                SessionError::Unauthenticated(Reason::BadSignature, "no key fits the session token")
            }
            Refusal::Invalid(why) => SessionError::Unauthenticated(Refusal::reason(why), why),
        }
    }
}

impl Refusal {
    /// An `Invalid` refusal's reason code, told by its fixed sentence.
    fn reason(why: &str) -> Reason {
        match () {
            _ if why.contains("expired") => Reason::Expired,
            _ if why.contains("signature does not match") => Reason::BadSignature,
            _ => Reason::Malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: Some("https://issuer".into()),
            audience: Some("app".into()),
        }
    }

    fn why(claims: Value) -> &'static str {
        match rules().check(&claims, NOW) {
            Err(Refusal::Invalid(why)) => why,
            other => panic!("{claims} gave {other:?}"),
        }
    }

    #[test]
    fn accepts_strings_arrays_floats_and_the_leeway() {
        let ok = [
            json!({"exp": NOW, "iss": "https://issuer", "aud": "app"}),
            json!({"exp": NOW - LEEWAY_SECS, "iss": ["x", "https://issuer"], "aud": ["other", "app"]}),
            json!({"exp": NOW as f64 + 0.4, "nbf": NOW + LEEWAY_SECS, "iss": "https://issuer", "aud": "app"}),
        ];
        for claims in ok {
            assert!(rules().check(&claims, NOW).is_ok(), "{claims}");
        }
        let lifetime = ClaimRules::default()
            .check(&json!({"exp": NOW, "nbf": NOW - 5}), NOW)
            .unwrap();
        assert_eq!(
            lifetime,
            Lifetime {
                exp: NOW,
                nbf: Some(NOW - 5)
            }
        );
        // Without configured iss / aud, whatever the token says is not looked at.
        let loose = json!({"exp": NOW, "iss": 7, "aud": "someone-else"});
        assert!(ClaimRules::default().check(&loose, NOW).is_ok());
    }

    #[test]
    fn refuses_expired_early_missing_and_wrong_claims() {
        let (iss, aud) = ("https://issuer", "app");
        let expired = json!({"exp": NOW - LEEWAY_SECS - 1, "iss": iss, "aud": aud});
        assert_eq!(why(expired), "the session token has expired");
        let early = json!({"exp": NOW + 60, "nbf": NOW + LEEWAY_SECS + 1, "iss": iss, "aud": aud});
        assert_eq!(why(early), "the session token is not valid yet");
        for claims in [
            json!({"iss": iss, "aud": aud}),
            json!({"exp": NOW, "aud": aud}),
            json!({"exp": NOW, "iss": iss}),
            json!({"exp": NOW, "iss": 5, "aud": aud}),
            json!({"exp": NOW, "iss": iss, "aud": ["app", 5]}),
        ] {
            assert_eq!(why(claims), "the session token lacks exp, iss or aud");
        }
        for claims in [
            json!({"exp": "soon", "iss": iss, "aud": aud}),
            json!({"exp": -1, "iss": iss, "aud": aud}),
            json!({"exp": NOW, "nbf": null, "iss": iss, "aud": aud}),
            json!([NOW, iss, aud]),
        ] {
            assert_eq!(why(claims), "the session token is invalid");
        }
        let wrong_iss = json!({"exp": NOW, "iss": "https://evil", "aud": aud});
        assert_eq!(why(wrong_iss), "the session token's issuer is not accepted");
        let wrong_aud = json!({"exp": NOW, "iss": iss, "aud": ["x", "y"]});
        assert_eq!(
            why(wrong_aud),
            "the session token's audience is not accepted"
        );
    }
}
