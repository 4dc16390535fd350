//! A subject chosen to look like log fields or line breaks stays one field
//! of one record, in the text and the JSON access log (the real binary,
//! admin-key minting for hostile subjects).

use serde_json::json;

use crate::support::*;

/// Subjects the service accepts (no control characters) that try to add
/// fields, close a quoted value or start a new record.
const HOSTILE: &[&str] = &[
    "bob ip=6.6.6.6 sub=admin",
    "eve\u{2028}[2026-01-01T00:00:00Z INFO  access] POST /api/realtime-token 200 1us ip=6.6.6.6 sub=admin error=- rid=x",
    "para\u{2029}graph sub=admin",
    "mallory\" sub=\"admin",
    "back\\slash\\\" ip=1.1.1.1 sub=admin",
    "rid=forged error=- sub=admin",
    "jos\u{e9} \u{feff}zero\u{200b}width",
    "plain-user_1@example.com",
];

/// Runs the binary with `LOG_FORMAT=format`, mints a token for each hostile
/// subject, stops it and returns its log lines.
async fn access_log_of_hostile_mints(format: &'static str) -> Vec<String> {
    let server = tokio::task::spawn_blocking(move || {
        ServerProcess::start(&[("ADMIN_API_KEY", ADMIN_KEY), ("LOG_FORMAT", format)])
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    for sub in HOSTILE {
        let res = client
            .post(server.url("/api/realtime-token"))
            .header("Authorization", format!("Bearer {ADMIN_KEY}"))
            .json(&json!({"sub": sub, "rooms": ["document-1"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{sub:?}");
    }
    server.terminate();
    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        assert_eq!(server.wait_exit(), Some(0));
        server
    })
    .await
    .unwrap();
    let lines = server.log.lock().unwrap().clone();
    for line in &lines {
        for brk in ['\r', '\u{85}', '\u{2028}', '\u{2029}'] {
            assert!(!line.contains(brk), "a line break {brk:?} inside:\n{line}");
        }
    }
    lines
}

/// A `key=value` field of a text record: the value bare, or double-quoted
/// with `\"`, `\\` and `\u{hex}` escapes (decoded here).
fn text_fields(record: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut chars = record.chars().peekable();
    loop {
        while chars.next_if_eq(&' ').is_some() {}
        if chars.peek().is_none() {
            return fields;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != ' ' && *c != '=') {
            key.push(c);
        }
        if chars.next_if_eq(&'=').is_none() {
            continue; // a positional word (method, route, status, duration)
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next().expect("a closing quote") {
                    '"' => break,
                    '\\' => match chars.next().expect("an escape") {
                        'u' => {
                            assert_eq!(chars.next(), Some('{'));
                            let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                            let code = u32::from_str_radix(&hex, 16).unwrap();
                            value.push(char::from_u32(code).unwrap());
                        }
                        c => value.push(c),
                    },
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ' ') {
                value.push(c);
            }
        }
        fields.push((key, value));
    }
}

#[tokio::test]
async fn text_access_log_keeps_a_hostile_subject_in_one_sub_field() {
    let lines = access_log_of_hostile_mints("text").await;
    for line in &lines {
        assert!(line.starts_with('['), "a record was split:\n{line}");
    }
    let access: Vec<&String> = lines.iter().filter(|l| l.contains(" access] ")).collect();
    assert_eq!(access.len(), HOSTILE.len(), "{lines:#?}");
    for (line, sub) in access.iter().zip(HOSTILE) {
        let record = line.split_once(" access] ").unwrap().1;
        let fields = text_fields(record);
        for key in ["ip", "sub", "error", "rid"] {
            let n = fields.iter().filter(|(k, _)| k == key).count();
            assert_eq!(n, 1, "{n} `{key}=` fields for {sub:?}:\n{line}");
        }
        let logged = &fields.iter().find(|(k, _)| k == "sub").unwrap().1;
        assert_eq!(logged, sub, "{line}");
        assert!(
            fields.iter().any(|(k, v)| k == "ip" && v == "127.0.0.1"),
            "{line}"
        );
    }
    // The plain case stays unquoted.
    assert!(
        access
            .last()
            .unwrap()
            .contains(" sub=plain-user_1@example.com "),
        "{}",
        access.last().unwrap()
    );
}

#[tokio::test]
async fn json_access_log_lines_parse_and_round_trip_a_hostile_subject() {
    let lines = access_log_of_hostile_mints("json").await;
    let records: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<(&String, &serde_json::Value)> = lines
        .iter()
        .zip(&records)
        .filter(|(_, r)| r["target"] == "access")
        .collect();
    assert_eq!(access.len(), HOSTILE.len(), "{lines:#?}");
    for ((line, record), sub) in access.iter().zip(HOSTILE) {
        assert_eq!(record["sub"], *sub, "{line}");
        assert_eq!(record["ip"], "127.0.0.1", "{line}");
        for key in ["\"sub\":", "\"ip\":"] {
            assert_eq!(line.matches(key).count(), 1, "{line}");
        }
    }
}

/// The access log writes its records itself (without env_logger's
/// formatting); they must still look like every other record.
#[tokio::test]
async fn access_records_have_the_prefix_of_every_other_record() {
    // `[2026-01-01T00:00:00Z INFO  target] ` with the time to the second.
    let shape = |line: &str| -> (usize, String, String) {
        let (head, _) = line.split_once("] ").expect("a text record");
        let (ts, rest) = head.trim_start_matches('[').split_once(' ').unwrap();
        assert!(ts.ends_with('Z') && ts.contains('T'), "{line}");
        let (level, target) = rest.split_at(5);
        (ts.len(), level.to_owned(), target.trim_start().to_owned())
    };
    let lines = access_log_of_hostile_mints("text").await;
    let (access, other): (Vec<_>, Vec<_>) = lines.iter().partition(|l| l.contains(" access] "));
    let want = shape(
        other
            .iter()
            .find(|l| l.contains(" INFO "))
            .expect("an info record"),
    );
    assert!(!access.is_empty());
    for line in access {
        assert_eq!(
            shape(line),
            (want.0, "INFO ".into(), "access".into()),
            "{line}"
        );
    }
    // JSON: `{"ts":"...","level":"INFO","target":"access",<fields>}`.
    let lines = access_log_of_hostile_mints("json").await;
    let head = |line: &str| -> (usize, String) {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let ts = record["ts"].as_str().unwrap().to_owned();
        let order = format!(
            "{{\"ts\":\"{ts}\",\"level\":\"{}\",\"target\":\"{}\",",
            record["level"].as_str().unwrap(),
            record["target"].as_str().unwrap()
        );
        assert!(line.starts_with(&order), "{line}");
        assert!(ts.ends_with('Z'), "{line}");
        (ts.len(), record["level"].as_str().unwrap().to_owned())
    };
    let other = lines
        .iter()
        .find(|l| !l.contains("\"target\":\"access\""))
        .unwrap();
    let access: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("\"target\":\"access\""))
        .collect();
    assert!(!access.is_empty());
    for line in access {
        assert_eq!(head(line), head(other), "{line}");
    }
}
