//! The relay under test: the real binary as a child process (the test kit's
//! `ChildRelay`), with the per-user rate limit raised so capacity, not the limit, is
//! measured.

use std::path::Path;

use runmesh_testkit::child::{ChildRelay, RelayBinary};

/// The relay binary cargo built for this bench.
const RELAY: RelayBinary = RelayBinary(env!("CARGO_BIN_EXE_runmesh-relay"));

pub struct Relay {
    inner: ChildRelay,
    pub http: String,
    pub ws: String,
}

impl Relay {
    pub fn start(dir: &Path, extra: &[&str]) -> Self {
        Self::start_in(dir, "bench", extra)
    }

    pub fn start_in(dir: &Path, region: &str, extra: &[&str]) -> Self {
        let mut args = vec![
            "--region",
            region,
            "--rate-limit-per-minute",
            "100000000",
            "--read-rate-limit-per-minute",
            "100000000",
        ];
        args.extend_from_slice(extra);
        let inner = RELAY.spawn(dir, &args);
        Self {
            http: inner.base.clone(),
            ws: inner.ws(),
            inner,
        }
    }

    /// CPU time the relay process has used, in seconds.
    pub fn cpu_secs(&self) -> f64 {
        self.inner.cpu_secs()
    }

    /// Resident memory of the relay process, in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.inner.rss_mib()
    }

    /// Peak resident memory of the relay process so far, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.inner.peak_rss_mib()
    }

    /// Stops the relay as a deploy does (SIGTERM: it closes its store cleanly) and waits.
    pub fn terminate(mut self) {
        let pid = self.inner.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let _ = self.inner.child.wait();
    }

    pub fn stop(mut self) {
        let _ = self.inner.child.kill();
        let _ = self.inner.child.wait();
    }
}
