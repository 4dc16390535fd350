//! `mint` and `verify`: tokens by hand, with the configured settings (or,
//! for `verify --jwks`, a JWKS).

use std::io::Read as _;
use std::process::ExitCode;

use serde_json::Map;

use super::keys::read_jwks;
use super::{report_config_errors, EXIT_CONFIG};
use crate::config::{self, Dotenv};
use crate::metrics::RoomMetrics;
use crate::policy::validate_room_pattern;
use crate::principal::Principal;
use crate::rooms::{Caller, Rooms, RoomsError};
use crate::session::store::PgPools;
use crate::token::{unix_now, TokenIssuer, TokenVerifier};

pub(super) fn mint(sub: &str, rooms: Vec<String>, ttl: Option<&str>, json: bool) -> ExitCode {
    let dotenv = Dotenv::load();
    let jwt = match dotenv.read(|lookup| config::jwt_from_lookup(lookup)) {
        Ok(jwt) => jwt,
        Err(errors) => return report_config_errors(&errors),
    };
    let mut issuer = TokenIssuer::new(&jwt);
    if let Some(ttl) = ttl {
        match config::parse_ttl(ttl) {
            Ok(ttl) => issuer = issuer.with_ttl(ttl),
            Err(e) => {
                eprintln!("--ttl: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    }
    let principal = match Principal::new(sub, Map::new()) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("--sub: {why}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let source = match dotenv.read(|lookup| config::room_source_from_lookup(lookup)) {
        Ok(settings) => settings.source,
        Err(errors) => return report_config_errors(&errors),
    };
    let rooms = if rooms.is_empty() || source.var().is_some() {
        match granted(&dotenv, &principal, rooms) {
            Ok(rooms) => rooms,
            Err(code) => return code,
        }
    } else {
        // No room source: the operator's rooms as given.
        if let Some(e) = rooms.iter().find_map(|r| validate_room_pattern(r).err()) {
            eprintln!("--rooms: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
        rooms
    };
    match issuer.issue(&principal.sub, rooms) {
        Ok(issued) if json => {
            println!("{}", serde_json::to_string(&issued).expect("serializable"));
            ExitCode::SUCCESS
        }
        Ok(issued) => {
            println!("{}", issued.token);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// What the env policy and the room source grant `principal`, as a token
/// request would get it: everything, or the `requested` rooms, each covered
/// (so an operator cannot mint what the app would refuse).
fn granted(
    dotenv: &Dotenv,
    principal: &Principal,
    requested: Vec<String>,
) -> Result<Vec<String>, ExitCode> {
    let (policy, settings) = dotenv
        .read(|lookup| config::rooms_from_lookup(lookup))
        .map_err(|errors| {
            eprintln!("the rooms to grant cannot be decided:");
            report_config_errors(&errors)
        })?;
    let rooms = Rooms::new(
        policy,
        &settings,
        &PgPools::default(),
        RoomMetrics::detached(),
    )
    .map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_CONFIG)
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("cannot start a runtime: {e}");
            ExitCode::FAILURE
        })?;
    let requested = (!requested.is_empty()).then_some(requested);
    runtime
        .block_on(rooms.authorize(principal, requested.as_deref(), Caller::default()))
        .map_err(|e| match e {
            RoomsError::Unavailable(why) => {
                eprintln!("rooms unavailable, no token minted: {why}");
                ExitCode::FAILURE
            }
            refused => {
                eprintln!("--rooms: {refused}");
                ExitCode::from(EXIT_CONFIG)
            }
        })
}

pub(super) fn verify(token: Option<String>, jwks: Option<&str>) -> ExitCode {
    let dotenv = Dotenv::load();
    let verifier = match jwks {
        None => match dotenv.read(|lookup| config::jwt_from_lookup(lookup)) {
            Ok(jwt) => TokenVerifier::new(&jwt),
            Err(errors) => return report_config_errors(&errors),
        },
        Some(source) => {
            let rules = match dotenv.read(|lookup| config::verify_rules_from_lookup(lookup)) {
                Ok(rules) => rules,
                Err(errors) => return report_config_errors(&errors),
            };
            let verifier = read_jwks(source)
                .and_then(|text| TokenVerifier::from_jwks(&rules, &text).map_err(|e| e.0));
            match verifier {
                Ok(verifier) => verifier,
                Err(e) => {
                    eprintln!("--jwks: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            }
        }
    };
    let token = match token.filter(|t| t != "-") {
        Some(t) => t,
        None => {
            let mut buf = String::new();
            if std::io::stdin().read_to_string(&mut buf).is_err() {
                eprintln!("could not read the token from standard input");
                return ExitCode::FAILURE;
            }
            buf
        }
    };
    match verifier.verify(token.trim()) {
        Ok(claims) => {
            let pretty = serde_json::to_string_pretty(&claims).expect("serializable");
            println!("{pretty}");
            let left = claims.exp.saturating_sub(unix_now());
            let alg = verifier.algorithm();
            eprintln!("valid: {alg} signature matches; expires in {left} s");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("invalid token: {e}");
            ExitCode::FAILURE
        }
    }
}
