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

/// `target/venv-deploy` with the validators.
fn validators() -> PathBuf {
    let venv = root().join("target/venv-deploy");
    python_venv(&venv, &root().join("deploy/requirements-validate.txt"));
    venv.join("bin")
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
