//! The deployment files name only what the relay has: every environment variable they set
//! is one of its flags' (`runmesh-relay --help`), the container's health check is a
//! command of the binary, and the probes' paths answer 200 on a running relay. (No Docker
//! or Kubernetes here to run the files themselves.)

use std::collections::BTreeSet;

use crate::RELAY;
use runmesh_testkit::relay::*;

const DOCKERFILE: &str = include_str!("../../../Dockerfile");
const UNIT: &str = include_str!("../../deploy/runmesh-relay.service");
const K8S: &str = include_str!("../../deploy/k8s/runmesh.yaml");

/// The environment variables the relay reads, from its help.
fn relay_env() -> BTreeSet<String> {
    let (ok, help, err) = RELAY.command(&["--help"], &[]);
    assert!(ok, "{err}");
    help.split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next())
        .map(str::to_owned)
        .collect()
}

fn assert_known(file: &str, names: impl IntoIterator<Item = String>, known: &BTreeSet<String>) {
    let names: Vec<String> = names.into_iter().collect();
    assert!(!names.is_empty(), "{file}: no variables found");
    for name in names {
        assert!(
            known.contains(&name),
            "{file} sets {name}, which the relay does not read"
        );
    }
}

#[tokio::test]
async fn every_variable_and_probe_in_the_deployment_files_is_real() {
    let known = relay_env();
    assert!(
        known.contains("CRDT_MESH_PEERS") && known.contains("JWT_KEYS"),
        "{known:?}"
    );

    // Dockerfile: `ENV A=… B=…` and the health check command.
    let docker_env = DOCKERFILE
        .lines()
        .filter_map(|l| l.strip_prefix("ENV "))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|pair| pair.split_once('=').map(|(k, _)| k.to_owned()));
    assert_known("Dockerfile", docker_env, &known);
    let check = DOCKERFILE
        .lines()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("a HEALTHCHECK");
    assert!(check.contains("runmesh-relay\", \"health\""), "{check}");

    // systemd: `Environment=NAME=…` and the names the comment tells to put in the env file.
    let unit_env = UNIT.lines().filter_map(|l| {
        let rest = l.strip_prefix("Environment=")?;
        Some(rest.split_once('=')?.0.to_owned())
    });
    assert_known("runmesh-relay.service", unit_env, &known);
    let env_file = UNIT.lines().filter_map(|l| {
        let name = l.strip_prefix("#")?.trim_start().split('=').next()?;
        (name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && name.len() > 3)
            .then(|| name.to_owned())
    });
    assert_known("runmesh-relay.service (env file)", env_file, &known);

    // Kubernetes: `- name: X` in env lists (and `export X=` in the start script).
    let k8s_env = K8S.lines().filter_map(|l| {
        let l = l.trim_start();
        let name = l
            .strip_prefix("- { name: ")
            .or_else(|| l.strip_prefix("- name: "))
            .or_else(|| l.strip_prefix("export "))?;
        let name: String = name
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit())
            .collect();
        (name.len() > 1).then_some(name)
    });
    assert_known("k8s/runmesh.yaml", k8s_env, &known);

    // The probes' paths answer on a running relay.
    let relay = TestRelay::start("probes").await;
    let paths: Vec<&str> = K8S
        .lines()
        .filter_map(|l| l.split("path: ").nth(1))
        .map(|p| p.split([',', ' ', '}']).next().unwrap_or_default())
        .collect();
    assert!(paths.len() >= 2, "{paths:?}");
    for path in paths {
        assert_eq!(get(&relay.http(path)).await.0, 200, "probe {path}");
    }
}

/// The Kubernetes manifests' shape (their schema is checked by `.ci/k8s.sh`): per region a
/// Deployment that sets its own REGION, its database URL from a Secret and resources; a
/// Service and a PodDisruptionBudget that select its pods; and mesh peers that are the
/// other regions' Services.
#[test]
fn every_region_in_the_k8s_manifests_is_complete_and_meshed_with_the_others() {
    use serde::Deserialize;
    let docs: Vec<serde_json::Value> = serde_norway::Deserializer::from_str(K8S)
        .map(|doc| serde_json::Value::deserialize(doc).unwrap())
        .collect();
    let of_kind = |kind: &str| -> Vec<&serde_json::Value> {
        docs.iter().filter(|d| d["kind"] == kind).collect()
    };
    let deployments = of_kind("Deployment");
    assert!(deployments.len() >= 2, "at least two regions");
    let regions: Vec<&str> = deployments
        .iter()
        .map(|d| {
            d["spec"]["template"]["metadata"]["labels"]["region"]
                .as_str()
                .unwrap()
        })
        .collect();
    for (deployment, region) in deployments.iter().zip(&regions) {
        let name = format!("runmesh-{region}");
        assert_eq!(deployment["metadata"]["name"], name.as_str());
        assert!(
            deployment["spec"]["replicas"].as_u64().unwrap() >= 2,
            "a region runs several relays on its database"
        );
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        assert_eq!(&deployment["spec"]["selector"]["matchLabels"], labels);
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let env = |var: &str| {
            container["env"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == var)
                .unwrap_or_else(|| panic!("{name} sets no {var}"))
        };
        assert_eq!(env("REGION")["value"], *region, "{name}'s REGION");
        assert!(
            env("DATABASE_URL")["valueFrom"]["secretKeyRef"]["name"].is_string(),
            "{name} takes DATABASE_URL from a Secret"
        );
        let peers: Vec<&str> = env("CRDT_MESH_PEERS")["value"]
            .as_str()
            .unwrap()
            .split(',')
            .collect();
        let others: Vec<String> = regions
            .iter()
            .filter(|r| *r != region)
            .map(|r| format!("ws://runmesh-{r}:3030/ws"))
            .collect();
        assert_eq!(peers, others, "{name} meshes with every other region");
        for want in ["cpu", "memory"] {
            assert!(
                container["resources"]["requests"][want].is_string(),
                "{name}: {want}"
            );
        }
        assert!(
            container["resources"]["limits"]["memory"].is_string(),
            "{name}"
        );
        for kind in ["Service", "PodDisruptionBudget"] {
            let found = of_kind(kind)
                .into_iter()
                .find(|d| d["metadata"]["name"] == name.as_str())
                .unwrap_or_else(|| panic!("no {kind} {name}"));
            let selector = &found["spec"]["selector"];
            let selector = selector.get("matchLabels").unwrap_or(selector);
            assert_eq!(selector, labels, "{kind} {name} selects the region's pods");
        }
    }
}
