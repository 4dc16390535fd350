//! A private Redis Cluster on free ports: masters, optionally a replica
//! each, optionally TLS only (certificates from a test CA).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{
    eventually_blocking, free_port, scratch_dir, test_certificates_for, unique, KillOnDrop,
};

/// The running cluster; its servers are killed when dropped.
pub struct RedisCluster {
    servers: BTreeMap<u16, KillOnDrop>,
    /// Every node's port, masters first (as `--cluster create` pairs them).
    pub ports: Vec<u16>,
    /// The test CA that signed the nodes' certificates, when they speak TLS.
    pub ca: Option<PathBuf>,
}

/// One node as `CLUSTER NODES` lists it.
pub struct NodeLine {
    pub id: String,
    /// The port it serves clients on.
    pub port: u16,
    pub master: bool,
    /// For a replica, its master's id.
    pub master_id: String,
    /// Slot ranges a master serves (`a-b` or `a`).
    pub slots: Vec<(u16, u16)>,
}

impl RedisCluster {
    /// `masters` masters with `replicas` replicas each, joined with
    /// `redis-cli --cluster create`; with `tls`, nodes speak TLS only (also
    /// on the cluster bus and for replication) with a certificate for
    /// `localhost` and `127.0.0.1` (the address the nodes announce).
    /// `node_timeout_ms` is `cluster-node-timeout` (how soon a dead master
    /// is failed over).
    pub fn start(masters: usize, replicas: usize, tls: bool, node_timeout_ms: u64) -> Self {
        let dir = scratch_dir().join(unique("cluster-"));
        std::fs::create_dir_all(&dir).unwrap();
        if tls {
            test_certificates_for(&dir, "DNS:localhost,IP:127.0.0.1");
        }
        let count = masters * (1 + replicas);
        let mut cluster = Self {
            servers: BTreeMap::new(),
            ports: (0..count).map(|_| free_port()).collect(),
            ca: tls.then(|| dir.join("ca.pem")),
        };
        for &port in &cluster.ports {
            let mut cmd = Command::new("redis-server");
            if tls {
                cmd.args(["--port", "0", "--tls-port", &port.to_string()])
                    .args(["--tls-cert-file", "server.pem"])
                    .args(["--tls-key-file", "server.key"])
                    .args(["--tls-ca-cert-file", "ca.pem"])
                    .args(["--tls-auth-clients", "no"])
                    .args(["--tls-cluster", "yes", "--tls-replication", "yes"]);
            } else {
                cmd.args(["--port", &port.to_string()]);
            }
            // The bus defaults to port + 10000, past 65535 for a high free
            // port (the server then refuses to start): take a free one.
            cmd.args(["--cluster-enabled", "yes"])
                .args(["--cluster-port", &free_port().to_string()])
                .args(["--cluster-node-timeout", &node_timeout_ms.to_string()])
                .arg("--cluster-config-file")
                .arg(dir.join(format!("nodes-{port}.conf")))
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(&dir)
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let child = cmd.spawn().expect("redis-server must be installed");
            cluster.servers.insert(port, KillOnDrop(child));
        }
        for &port in &cluster.ports {
            eventually_blocking(&format!("node {port} to start"), || {
                cluster.cli(port, &["ping"]) == "PONG"
            });
        }
        let addrs: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let replicas = replicas.to_string();
        let mut create = vec!["--cluster", "create"];
        create.extend(addrs.iter().map(String::as_str));
        create.extend(["--cluster-replicas", &replicas, "--cluster-yes"]);
        cluster.cli(cluster.ports[0], &create);
        for &port in &cluster.ports {
            eventually_blocking("the cluster to form", || {
                cluster
                    .cli(port, &["cluster", "info"])
                    .contains("cluster_state:ok")
            });
        }
        // Every replica has copied its master (a failover needs that).
        for &port in &cluster.ports {
            eventually_blocking("every replica to sync", || {
                let info = cluster.cli(port, &["info", "replication"]);
                info.contains("role:master") || info.contains("master_link_status:up")
            });
        }
        cluster
    }

    /// `redis-cli` against the node at `port` (over TLS when the cluster
    /// speaks it); its trimmed output.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        self.cli_stdin(port, args, "")
    }

    /// Like [`RedisCluster::cli`], with commands on stdin (one connection).
    pub fn cli_stdin(&self, port: u16, args: &[&str], stdin: &str) -> String {
        let mut cmd = Command::new("redis-cli");
        if let Some(ca) = &self.ca {
            cmd.args(["--tls", "--cacert"]).arg(ca);
        }
        let mut child = cmd
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-cli");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `REDIS_CLUSTER` for the service: every node, `host:port`.
    pub fn nodes_var(&self, host: &str) -> String {
        self.ports
            .iter()
            .map(|p| format!("{host}:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node at `port` as it sees itself (its own line of `CLUSTER
    /// NODES`: authoritative, while other nodes may still be gossiping).
    pub fn myself(&self, port: u16) -> NodeLine {
        let nodes = self.cli(port, &["cluster", "nodes"]);
        let line = nodes
            .lines()
            .find(|line| line.contains("myself"))
            .unwrap_or_else(|| panic!("no CLUSTER NODES from {port}: {nodes}"));
        let f: Vec<&str> = line.split_whitespace().collect();
        NodeLine {
            id: f[0].to_owned(),
            port,
            master: f[2].contains("master"),
            master_id: f[3].to_owned(),
            slots: f[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .map(|s| match s.split_once('-') {
                    Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                    None => (s.parse().unwrap(), s.parse().unwrap()),
                })
                .collect(),
        }
    }

    /// The port of the master serving `key`.
    pub fn owner(&self, key: &str) -> u16 {
        let slot: u16 = self
            .cli(self.ports[0], &["cluster", "keyslot", key])
            .parse()
            .unwrap();
        self.ports
            .iter()
            .map(|&port| self.myself(port))
            .find(|n| n.master && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
            .expect("a master serves every slot")
            .port
    }

    /// The port of the replica of the master at `master`.
    pub fn replica_of(&self, master: u16) -> u16 {
        let id = self.myself(master).id;
        self.ports
            .iter()
            .map(|&port| self.myself(port))
            .find(|n| !n.master && n.master_id == id)
            .expect("the master has a replica")
            .port
    }

    /// Kills the node at `port` (SIGKILL: no goodbye to the cluster).
    pub fn kill(&mut self, port: u16) {
        drop(self.servers.remove(&port));
    }
}
