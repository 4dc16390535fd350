//! `mint` and `verify`: tokens by hand, with the configured settings.

use std::io::Read as _;
use std::process::ExitCode;

use serde_json::Map;

use super::{report_config_errors, EXIT_CONFIG};
use crate::config::{self, Dotenv};
use crate::policy::validate_room_pattern;
use crate::principal::Principal;
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
    let rooms = if rooms.is_empty() {
        let policy = match dotenv.read(|lookup| config::rooms_from_lookup(lookup)) {
            Ok((policy, _)) => policy,
            Err(errors) => {
                eprintln!("--rooms not given and the policy cannot be read:");
                return report_config_errors(&errors);
            }
        };
        policy.grants(&principal)
    } else {
        rooms
    };
    if rooms.is_empty() {
        eprintln!("--rooms: no rooms to grant; pass e.g. --rooms document-*");
        return ExitCode::from(EXIT_CONFIG);
    }
    if let Some(e) = rooms.iter().find_map(|r| validate_room_pattern(r).err()) {
        eprintln!("--rooms: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
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

pub(super) fn verify(token: Option<String>) -> ExitCode {
    let jwt = match Dotenv::load().read(|lookup| config::jwt_from_lookup(lookup)) {
        Ok(jwt) => jwt,
        Err(errors) => return report_config_errors(&errors),
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
    match TokenVerifier::new(&jwt).verify(token.trim()) {
        Ok(claims) => {
            let pretty = serde_json::to_string_pretty(&claims).expect("serializable");
            println!("{pretty}");
            let left = claims.exp.saturating_sub(unix_now());
            eprintln!("valid: HS256 signature matches; expires in {left} s");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("invalid token: {e}");
            ExitCode::FAILURE
        }
    }
}
