//! Fake Redis servers that speak just enough RESP to stand in for an
//! attacker: a plaintext sentinel that names any address as the primary,
//! and a TLS "primary" (rustls, a certificate from
//! [`test_certificates_for`](super::test_certificates_for)) that answers
//! like a real one and records what it is sent.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One RESP command (an array of bulk strings), or `None` at the end.
fn read_command(reader: &mut impl BufRead) -> Option<Vec<String>> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let count: usize = line.trim_end().strip_prefix('*')?.parse().ok()?;
    (0..count)
        .map(|_| {
            line.clear();
            reader.read_line(&mut line).ok()?;
            let len: usize = line.trim_end().strip_prefix('$')?.parse().ok()?;
            let mut buf = vec![0; len + 2];
            reader.read_exact(&mut buf).ok()?;
            buf.truncate(len);
            Some(String::from_utf8_lossy(&buf).into_owned())
        })
        .collect()
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

fn array(items: &[String]) -> String {
    format!("*{}\r\n{}", items.len(), items.concat())
}

/// Accepts connections on a free port, each served by `serve` on its own
/// thread; the port.
fn listen(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let serve = serve.clone();
            std::thread::spawn(move || serve(stream));
        }
    });
    port
}

/// A plaintext sentinel naming `ip:port` as the primary of its group.
pub struct FakeSentinel {
    pub port: u16,
}

impl FakeSentinel {
    pub fn start(master: &str, ip: &str, port: u16) -> Self {
        let fields = [
            ("name", master.to_owned()),
            ("ip", ip.to_owned()),
            ("port", port.to_string()),
            ("runid", "0".repeat(40)),
            ("flags", "master".to_owned()),
        ];
        let info = array(
            &fields
                .iter()
                .flat_map(|(k, v)| [bulk(k), bulk(v)])
                .collect::<Vec<_>>(),
        );
        let (master, ip) = (master.to_owned(), ip.to_owned());
        let port = listen(move |stream| {
            let mut reader = BufReader::new(stream);
            while let Some(cmd) = read_command(&mut reader) {
                let words: Vec<String> = cmd.iter().map(|w| w.to_ascii_uppercase()).collect();
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                let reply = match words.as_slice() {
                    ["ROLE"] => array(&[bulk("sentinel"), array(&[bulk(&master)])]),
                    ["SENTINEL", "MASTERS"] => array(std::slice::from_ref(&info)),
                    ["SENTINEL", "MASTER", _] if cmd[2] == master => info.clone(),
                    ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", _] if cmd[2] == master => {
                        array(&[bulk(&ip), bulk(&port.to_string())])
                    }
                    ["CLIENT", ..] => "+OK\r\n".into(),
                    _ => "-ERR unknown command\r\n".into(),
                };
                if reader.get_mut().write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
        });
        Self { port }
    }
}

/// A TLS server with `dir`'s `server.pem` and `server.key` that answers as
/// a Redis primary would, `GET` with `session` whatever the key.
pub struct FakePrimary {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    commands: Arc<Mutex<Vec<String>>>,
}

impl FakePrimary {
    pub fn start(dir: &Path, session: &str) -> Self {
        let certs = CertificateDer::pem_file_iter(dir.join("server.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
        );
        let connections = Arc::new(AtomicUsize::new(0));
        let commands = Arc::new(Mutex::new(Vec::new()));
        let (counted, seen, session) = (connections.clone(), commands.clone(), session.to_owned());
        let port = listen(move |stream| {
            // Counted before the handshake, so before the client can judge
            // the certificate.
            counted.fetch_add(1, Ordering::SeqCst);
            let tls = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut reader = BufReader::new(rustls::StreamOwned::new(tls, stream));
            while let Some(cmd) = read_command(&mut reader) {
                let name = cmd
                    .first()
                    .cloned()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                seen.lock().unwrap().push(name.clone());
                let reply = match name.as_str() {
                    "AUTH" | "SELECT" | "CLIENT" => "+OK\r\n".into(),
                    "PING" => "+PONG\r\n".into(),
                    "ROLE" => "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n".into(),
                    "INFO" => bulk("# Replication\r\nrole:master"),
                    "GET" => bulk(&session),
                    _ => "-ERR unknown command\r\n".into(),
                };
                let out = reader.get_mut();
                if out
                    .write_all(reply.as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return;
                }
            }
        });
        Self {
            port,
            connections,
            commands,
        }
    }

    /// Connections accepted so far (TLS handshakes begun).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The name of every command received over a completed handshake.
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }
}
