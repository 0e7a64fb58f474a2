//! The relay under test, as a child process (so its memory can be read from /proc).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Relay {
    pub child: Child,
    pub http: String,
    pub ws: String,
}

impl Relay {
    pub fn start(dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runmesh-relay"))
            // Capacity is what is measured here, not the per-user rate limit.
            .args(["--listen", "127.0.0.1:0", "--region", "bench"])
            .args(["--rate-limit-per-minute", "100000000"])
            .arg("--data-dir")
            .arg(dir)
            .args(extra)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("relay binary");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let http = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("address")
            .to_owned();
        let ws = format!("{}/ws", http.replace("http://", "ws://"));
        Self { child, http, ws }
    }

    /// Resident memory of the relay process, in MiB.
    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
