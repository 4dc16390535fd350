//! The room source property, shared by path (`#[path]`) by the `rooms`
//! fuzz target and `tests/api/rooms/property.rs`: whatever a source
//! returns, a token's rooms are valid patterns, each covered by an env
//! grant or a valid source value; a request gets exactly what it names or a
//! refusal naming a room nothing covers; without a request, exactly the env
//! grants and the valid values they do not cover (never fewer, at most
//! `max`); a failing source never yields a token.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use realtime_token::metrics::RoomMetrics;
use realtime_token::policy::{
    pattern_covers, validate_room_pattern, PolicyError, RoomPolicy, MAX_REQUESTED_ROOMS,
};
use realtime_token::rooms::{
    Ask, Caller, RoomSource, Rooms, RoomsError, RoomsSettings, SourceCheck,
};
use realtime_token::session::Principal;
use serde_json::{Map, Value};

/// One run: the env policy, the principal, what the source answers, the
/// request and `ROOMS_MAX`.
#[derive(Debug, Clone)]
pub struct Case {
    /// `REALTIME_ROOMS` (cases it does not parse are skipped).
    pub env: String,
    pub sub: String,
    pub attributes: Map<String, Value>,
    /// The source's values, or its failure.
    pub answer: Result<Vec<String>, String>,
    pub requested: Option<Vec<String>>,
    pub max: usize,
}

/// A source that answers `answer`, whoever asks.
struct Fixed(Result<Vec<String>, String>);

type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl RoomSource for Fixed {
    fn var(&self) -> &'static str {
        "ROOMS_TEST"
    }

    fn lookup(&self, _ask: Ask<'_>) -> Boxed<Result<Vec<String>, String>> {
        Box::pin(std::future::ready(self.0.clone()))
    }

    fn check(&self) -> Boxed<Result<(), SourceCheck>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Why a request's room list is refused before any source is asked, if it is.
fn request_is_invalid(requested: Option<&[String]>) -> bool {
    requested.is_some_and(|r| {
        r.is_empty()
            || r.len() > MAX_REQUESTED_ROOMS
            || r.iter().any(|room| validate_room_pattern(room).is_err())
    })
}

/// Runs `case` through [`Rooms::authorize`] and checks the property (in a
/// Tokio runtime with time enabled).
pub async fn check(case: &Case) {
    let Ok(templates) = RoomPolicy::parse_templates(&case.env) else {
        return;
    };
    let policy = RoomPolicy::new(templates, vec![], "roles".into());
    let settings = RoomsSettings {
        max: case.max,
        ..RoomsSettings::default()
    };
    let source = Arc::new(Fixed(case.answer.clone()));
    let rooms = Rooms::with_source(
        policy.clone(),
        Some(source),
        &settings,
        RoomMetrics::detached(),
    );
    let principal = Principal {
        sub: case.sub.clone(),
        attributes: case.attributes.clone(),
    };
    let requested = case.requested.as_deref();
    let outcome = rooms
        .authorize(&principal, requested, Caller::default())
        .await;

    let env = policy.grants(&principal);
    let Ok(values) = &case.answer else {
        match outcome {
            Err(RoomsError::Unavailable(_)) => {}
            Err(RoomsError::Policy(PolicyError::InvalidRooms(_)))
                if request_is_invalid(requested) => {}
            other => panic!("a failing source gave {other:?} for {case:?}"),
        }
        return;
    };
    let valid: Vec<&String> = values
        .iter()
        .filter(|v| validate_room_pattern(v).is_ok())
        .collect();
    let covered = |room: &str| {
        env.iter().any(|g| pattern_covers(g, room)) || valid.iter().any(|v| pattern_covers(v, room))
    };
    // The oracle for "everything granted": env, then each valid value no
    // env grant covers, once.
    let mut everything: Vec<String> = env.clone();
    for v in &valid {
        if !env.iter().any(|g| pattern_covers(g, v)) && !everything.contains(v) {
            everything.push((*v).clone());
        }
    }
    match outcome {
        Ok(rooms) => {
            for (i, room) in rooms.iter().enumerate() {
                assert!(validate_room_pattern(room).is_ok(), "{room:?} in {case:?}");
                assert!(covered(room), "{room:?} is covered by nothing in {case:?}");
                assert!(!rooms[..i].contains(room), "{room:?} twice in {case:?}");
            }
            match requested {
                Some(requested) => {
                    let mut named: Vec<&String> = Vec::new();
                    for r in requested {
                        if !named.contains(&r) {
                            named.push(r);
                        }
                    }
                    assert_eq!(rooms.iter().collect::<Vec<_>>(), named, "{case:?}");
                }
                None => {
                    assert!(rooms.len() <= case.max, "over ROOMS_MAX: {case:?}");
                    assert_eq!(rooms, everything, "{case:?}");
                }
            }
        }
        Err(RoomsError::Unavailable(why)) => panic!("the source answered, yet {why}: {case:?}"),
        Err(RoomsError::TooMany(max)) => {
            assert!(requested.is_none() && everything.len() > max, "{case:?}");
        }
        Err(RoomsError::Policy(PolicyError::InvalidRooms(_))) => {
            assert!(request_is_invalid(requested), "{case:?}");
        }
        Err(RoomsError::Policy(PolicyError::NoRooms)) => {
            assert!(requested.is_none() && everything.is_empty(), "{case:?}");
        }
        Err(RoomsError::Policy(PolicyError::RoomNotAllowed(room))) => {
            assert!(requested.is_some_and(|r| r.contains(&room)), "{case:?}");
            assert!(!covered(&room), "{room:?} was covered: {case:?}");
        }
    }
}
