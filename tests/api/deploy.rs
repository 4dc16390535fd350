//! `deploy/`: the Kubernetes manifests and the compose file validate
//! offline against their schemas (validators from PyPI, pinned in
//! `deploy/requirements-validate.txt`), and the configuration they carry is
//! one the service accepts.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_norway::Value;

use crate::support::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/venv-deploy` with the validators (made by `scripts/test`).
fn validators() -> PathBuf {
    venv("deploy", "deploy/requirements-validate.txt").join("bin")
}

fn yaml(path: &Path) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("deploy/k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        // Not a Kubernetes object: kustomize's own file.
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_manifests_and_the_compose_file_validate_offline() {
    let bin = validators();
    let files = manifests();
    assert!(files.len() >= 6, "{files:?}");
    let out = Command::new(bin.join("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.37.0"])
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.matches(" passed for resource ").count(),
        files.len(),
        "{text}"
    );
    let out = Command::new(bin.join("check-jsonschema"))
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(root().join("deploy/compose.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Every file kustomize is told about exists.
    let kustomization = yaml(&root().join("deploy/k8s/kustomization.yaml"));
    for resource in kustomization["resources"].as_sequence().unwrap() {
        assert!(root()
            .join("deploy/k8s")
            .join(resource.as_str().unwrap())
            .exists());
    }
}

/// `check-config` with exactly `env` (nothing else, not even `.env`).
fn check_config(env: &[(String, String)]) -> std::process::Output {
    let mut cmd = bin();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.arg("check-config").output().unwrap()
}

fn string_map(value: &Value) -> Vec<(String, String)> {
    value
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_owned(),
                v.as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_deployed_configuration_is_accepted_and_the_pod_matches_the_image() {
    let k8s = root().join("deploy/k8s");
    let mut env = string_map(&yaml(&k8s.join("configmap.yaml"))["data"]);
    env.extend(string_map(
        &yaml(&k8s.join("secret.example.yaml"))["stringData"],
    ));
    let out = check_config(&env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let compose = yaml(&root().join("deploy/compose.yaml"));
    let out = check_config(&string_map(
        &compose["services"]["realtime-token"]["environment"],
    ));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let deployment = yaml(&k8s.join("deployment.yaml"));
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    // The Dockerfile's user, so runAsNonRoot holds.
    let uid = pod["securityContext"]["runAsUser"].as_u64().unwrap();
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("--uid {uid} ")),
        "Dockerfile user is not {uid}"
    );
    // Kubernetes waits longer than the drain and the in-flight timeout.
    let seconds = |var: &str| {
        let value = env
            .iter()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.clone())
            .unwrap();
        realtime_token::config::parse_duration(&value)
            .unwrap()
            .as_secs()
    };
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(grace > seconds("SHUTDOWN_GRACE") + seconds("SHUTDOWN_TIMEOUT"));
    let probe = &container["readinessProbe"];
    let notice =
        probe["periodSeconds"].as_u64().unwrap() * probe["failureThreshold"].as_u64().unwrap();
    assert!(
        seconds("SHUTDOWN_GRACE") > notice,
        "the drain must outlast the readiness probe"
    );
}

/// The rule in `policy["spec"][direction]` naming `port`, if any.
fn rules_for<'a>(policy: &'a Value, direction: &str, port: &str) -> Vec<&'a Value> {
    policy["spec"][direction]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|rule| {
            rule["ports"]
                .as_sequence()
                .is_some_and(|ports| ports.iter().any(|p| p["port"].as_str() == Some(port)))
        })
        .collect()
}

#[test]
fn metrics_stay_off_the_service_and_the_network_policy_is_closed() {
    let k8s = root().join("deploy/k8s");
    let config = string_map(&yaml(&k8s.join("configmap.yaml"))["data"]);
    let var = |name: &str| {
        config
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} is not in configmap.yaml"))
    };
    // METRICS_ADDR is set, on the container's `metrics` port, which the
    // Service does not expose.
    let metrics_port: u64 = var("METRICS_ADDR")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let deployment = yaml(&k8s.join("deployment.yaml"));
    let pod = &deployment["spec"]["template"];
    let ports = pod["spec"]["containers"][0]["ports"].as_sequence().unwrap();
    let named = |name: &str| {
        ports
            .iter()
            .find(|p| p["name"].as_str() == Some(name))
            .and_then(|p| p["containerPort"].as_u64())
    };
    assert_eq!(named("metrics"), Some(metrics_port));
    let service = yaml(&k8s.join("service.yaml"));
    for port in service["spec"]["ports"].as_sequence().unwrap() {
        assert_eq!(port["targetPort"].as_str(), Some("http"), "{port:?}");
    }

    // The policy selects the pods, closes both directions and lets each
    // port in only from named peers (a rule without `from` admits anyone).
    let policy = yaml(&k8s.join("networkpolicy.yaml"));
    let kustomization = yaml(&k8s.join("kustomization.yaml"));
    assert!(kustomization["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|r| r.as_str() == Some("networkpolicy.yaml")));
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        pod["metadata"]["labels"]
    );
    let types: Vec<&str> = policy["spec"]["policyTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(types, ["Ingress", "Egress"]);
    for rule in policy["spec"]["ingress"].as_sequence().unwrap() {
        assert!(
            rule["from"].as_sequence().is_some_and(|f| !f.is_empty()),
            "{rule:?}"
        );
        assert!(
            rule["ports"].as_sequence().is_some_and(|p| !p.is_empty()),
            "{rule:?}"
        );
    }
    let (http, metrics) = (
        rules_for(&policy, "ingress", "http"),
        rules_for(&policy, "ingress", "metrics"),
    );
    assert_eq!((http.len(), metrics.len()), (1, 1));
    assert_ne!(http[0]["from"], metrics[0]["from"], "the scraper only");
    for rule in policy["spec"]["egress"].as_sequence().unwrap() {
        assert!(
            rule["to"].as_sequence().is_some_and(|t| !t.is_empty()),
            "{rule:?}"
        );
        assert!(
            rule["ports"].as_sequence().is_some_and(|p| !p.is_empty()),
            "{rule:?}"
        );
    }

    // TRUSTED_PROXIES names the ingress controller's range, not the whole
    // pod network (every pod could then pick its own rate-limit bucket).
    for net in var("TRUSTED_PROXIES").split(',') {
        let net: ipnet::IpNet = net.trim().parse().unwrap();
        assert!(
            net.prefix_len() >= 20,
            "TRUSTED_PROXIES {net} trusts too much"
        );
    }
}
