//! The seed guide's commands, run as written: its `bash` blocks are read out of a verbatim
//! copy of the guide (`tests/seed/multi-region-guide.md`) and run by bash against relays on
//! 127.0.0.1. Only the hosts change (`https://us-east-1.atlasia.ai` → the us-east-1
//! relay's address, the `<eu-central-1-ip>` placeholder → 127.0.0.1), and two shell
//! functions stand in for what a test cannot touch:
//! `iptables` cuts and restores a proxy between the regions, `kubectl logs` prints the
//! relays' log.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runmesh_testkit::proxy::Proxy;
use runmesh_testkit::relay::{TestRelay, eventually, get};
use serde_json::Value;

const GUIDE: &str = include_str!("../seed/multi-region-guide.md");
const RUN_ID: &str = "123e4567-e89b-12d3-a456-426614174000";

/// The first ```bash block after the line that starts with `heading`.
fn block(heading: &str) -> String {
    let after = GUIDE
        .split_once(&format!("\n{heading}"))
        .unwrap_or_else(|| panic!("the guide has no {heading:?}"))
        .1;
    let code = after.split_once("```bash\n").expect("a bash block").1;
    code.split_once("```")
        .expect("the block's end")
        .0
        .to_owned()
}

/// The relays' log, for `kubectl logs`.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Regions {
    us: TestRelay,
    eu: TestRelay,
    west: TestRelay,
    log: Log,
    dir: tempfile::TempDir,
}

impl Regions {
    /// Runs `script` (a guide block) in bash; returns what it printed.
    fn run(&self, script: &str) -> String {
        let mut script = script
            .replace("https://us-east-1.atlasia.ai", &self.us.base())
            .replace("https://eu-central-1.atlasia.ai", &self.eu.base())
            .replace("https://us-west-2.atlasia.ai", &self.west.base())
            .replace("<eu-central-1-ip>", "127.0.0.1");
        std::fs::write(
            self.dir.path().join("relay.log"),
            &*self.log.0.lock().unwrap(),
        )
        .unwrap();
        let partition = self.dir.path().join("partitioned");
        let stubs = format!(
            "iptables() {{ case \"$1\" in -A) touch {p} ;; -D) rm -f {p} ;; esac; }}\n\
             kubectl() {{ cat {log}; }}\n",
            p = partition.display(),
            log = self.dir.path().join("relay.log").display()
        );
        script.insert_str(0, &stubs);
        let out = std::process::Command::new("bash")
            .args(["-e", "-c", &script])
            .current_dir(self.dir.path())
            .env("RUN_ID", RUN_ID)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{script}\nfailed: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

/// Every JSON value in `text` (curl prints them one after another).
fn values(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{text}"))
}

fn agents(state: &Value) -> Vec<String> {
    state["grafts"]
        .as_array()
        .map(|g| {
            g.iter()
                .map(|g| g["agentName"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// us-east-1 dials eu-central-1 through a proxy the `iptables` stand-in cuts; us-west-2
/// is the new region of the disaster-recovery step.
async fn regions() -> Regions {
    let log = Log::default();
    let writer = log.clone();
    let _ = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_env_filter("runmesh_relay=info")
        .with_ansi(false)
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let eu_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = Proxy::start(eu_listener.local_addr().unwrap()).await;
    let eu = TestRelay::start_on(eu_listener, &dir.path().join("eu"), "eu-central-1", |_| {}).await;
    let via = format!("ws://{}/ws", proxy.addr);
    let us_dir = dir.path().join("us");
    let us_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // Redials within 200 ms of the link coming back, so the guide's `sleep 1` is ample.
    let us = TestRelay::start_on(us_listener, &us_dir, "us-east-1", |c| {
        c.mesh_peers = vec![via];
        c.mesh_backoff_max = Duration::from_millis(200);
    })
    .await;
    let west = TestRelay::start_in(&dir.path().join("west"), "us-west-2", |_| {}).await;
    follow_partition(dir.path(), proxy);
    Regions {
        us,
        eu,
        west,
        log,
        dir,
    }
}

/// Cuts the proxy while the `iptables` stand-in's flag file exists.
fn follow_partition(dir: &Path, proxy: Proxy) {
    let flag = dir.join("partitioned");
    tokio::spawn(async move {
        let mut cut = false;
        loop {
            let now = flag.exists();
            if now != cut {
                if now {
                    proxy.cut().await;
                } else {
                    proxy.restore();
                }
                cut = now;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_s_commands_work_as_written() {
    let regions = regions().await;
    eventually("the regions to link", || async {
        let status = get(&regions.us.http("/api/crdt/mesh/status")).await.1;
        (status["connectedPeers"] == 1).then_some(())
    })
    .await;

    // 1. Verify Mesh Connectivity: each region answers with its name, active.
    let answers = values(&regions.run(&block("### 1. Verify Mesh Connectivity")));
    let got: Vec<(&str, &str)> = answers
        .iter()
        .map(|a| (a["region"].as_str().unwrap(), a["status"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("us-east-1", "active"), ("eu-central-1", "active")]);

    // 2. Test Cross-Region Sync: a graft in us-east-1 is in eu-central-1 after 0.2 s.
    let answers = values(&regions.run(&block("### 2. Test Cross-Region Sync")));
    let state = answers.last().unwrap();
    assert_eq!(agents(state), ["SecurityAgent"], "{state}");

    // 3. Partition Tolerance Test: both sides graft while cut; after `sleep 1` both have
    // both, in one order.
    let answers = values(&regions.run(&block("### 3. Partition Tolerance Test")));
    let (us, eu) = (&answers[answers.len() - 2], &answers[answers.len() - 1]);
    for agent in ["PerformanceAgent", "ReliabilityAgent"] {
        assert!(
            agents(us).contains(&agent.into()),
            "us-east-1 lacks {agent}: {us}"
        );
    }
    assert_eq!(
        us["pipeline"], eu["pipeline"],
        "the regions differ after healing"
    );

    // Disaster Recovery: eu-central-1's changes, base64 as GNU base64 wraps it, into a new
    // region.
    let answers = values(&regions.run(&block("### Snapshot Restoration")));
    assert_eq!(answers.last().unwrap()["applied"], true, "{answers:?}");
    let restored = get(&regions.west.http(&format!("/api/crdt/runs/{RUN_ID}/state")))
        .await
        .1;
    assert_eq!(
        restored["pipeline"], eu["pipeline"],
        "the new region has the run"
    );

    // State Divergence: a forced full sync with the other region.
    let answers = values(&regions.run(&block("### State Divergence")));
    assert_eq!(answers[0]["status"], "resynced", "{answers:?}");

    // Peers Not Connecting: the log check finds the mesh's link events.
    let check = block("### Peers Not Connecting");
    let first = check.lines().find(|l| l.starts_with("kubectl")).unwrap();
    let found = regions.run(first);
    assert!(found.contains("CRDT mesh: link up"), "{found}");
}
