//! The real relay binary as a child process.

use std::path::Path;

/// The relay binary to run. Cargo tells only the relay package's own tests and benches
/// where it built it (`env!("CARGO_BIN_EXE_runmesh-relay")`), so they hand the path in:
/// `const RELAY: RelayBinary = RelayBinary(env!("CARGO_BIN_EXE_runmesh-relay"));`
#[derive(Debug, Clone, Copy)]
pub struct RelayBinary(pub &'static str);

/// The real relay binary as a child process, on 127.0.0.1:0 with `args`.
#[derive(Debug)]
pub struct ChildRelay {
    pub child: std::process::Child,
    /// `http://127.0.0.1:port`
    pub base: String,
}

impl RelayBinary {
    /// Starts the binary and reads the address it prints.
    pub fn spawn(self, dir: &Path, args: &[&str]) -> ChildRelay {
        self.spawn_with(dir, args, std::process::Stdio::null(), "warn")
    }

    /// Like [`RelayBinary::spawn`], its log (at `level`) going to `stderr`.
    pub fn spawn_with(
        self,
        dir: &Path,
        args: &[&str],
        stderr: std::process::Stdio,
        level: &str,
    ) -> ChildRelay {
        self.spawn_wrapped(&[], dir, args, stderr, level)
    }

    /// Like [`RelayBinary::spawn`], under an address-space cap of `cap_bytes` (`prlimit
    /// --as`): a relay that allocates without bound aborts instead of taking the machine
    /// down, and a test sees it die. prlimit runs the relay in its own process, so the
    /// child's id is the relay's.
    pub fn spawn_capped(
        self,
        dir: &Path,
        args: &[&str],
        cap_bytes: u64,
        stderr: std::process::Stdio,
    ) -> ChildRelay {
        let cap = format!("--as={cap_bytes}");
        self.spawn_wrapped(&["prlimit", &cap, "--"], dir, args, stderr, "warn")
    }

    /// Like [`RelayBinary::spawn_with`], run by `wrapper` (e.g. `prlimit --nofile=512 --`).
    pub fn spawn_wrapped(
        self,
        wrapper: &[&str],
        dir: &Path,
        args: &[&str],
        stderr: std::process::Stdio,
        level: &str,
    ) -> ChildRelay {
        use std::io::{BufRead, BufReader};
        let binary = self.0;
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = std::process::Command::new(program);
                command.args(rest).arg(binary);
                command
            }
            None => std::process::Command::new(binary),
        };
        let mut child = command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .arg("--data-dir")
            .arg(dir)
            .env("RUST_LOG", level)
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        ChildRelay { child, base }
    }

    /// Runs the binary with `args` (another command than serving) and returns its exit
    /// status, standard output and standard error.
    pub fn command(self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let out = std::process::Command::new(self.0)
            .args(args)
            .env_remove("JWT_SECRET")
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl ChildRelay {
    /// `ws://…/ws`
    pub fn ws(&self) -> String {
        format!("{}/ws", self.base.replace("http://", "ws://"))
    }

    /// CPU time used, in seconds (from /proc).
    pub fn cpu_secs(&self) -> f64 {
        // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100/s on
        // Linux); the command name before them may hold spaces, so count after its ')'.
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }

    /// Resident memory, in MiB (from /proc).
    pub fn rss_mib(&self) -> f64 {
        self.status_mib("VmRSS:")
    }

    /// Peak resident memory of the process so far, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    fn status_mib(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

/// A relay a test forgets to stop (or a test that panics) does not outlive it.
impl Drop for ChildRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
