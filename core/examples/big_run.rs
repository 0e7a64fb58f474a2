//! Writes a run of N grafts to stdout as one save, for seeding a relay with a big run in one
//! `POST …/sync` (the browser test's 100,000-graft case: making it over REST one graft at a
//! time took longer than 9 minutes, and making it is not what that test measures).
//!
//! `cargo run --release -p runmesh-core --example big_run -- <run id> <grafts>`: the run is
//! the shared genesis (one step, `step1`) and `Agent0`, `Agent1`, … each grafted after
//! `step1` in a change of its own, as a client grafting over REST makes them.

use std::io::Write;

use runmesh_core::{Identity, RunDoc, RunId};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: big_run <run id> <grafts>";
    let run: RunId = args.next().expect(usage).parse().expect("a run id");
    let grafts: u64 = args
        .next()
        .expect(usage)
        .parse()
        .expect("a number of grafts");
    let who = Identity::random("seed", "seed").expect("a valid identity");
    let mut doc = RunDoc::genesis(run, who);
    for i in 0..grafts {
        doc.graft("step1", &format!("Agent{i}"), i)
            .expect("a graft after step1");
    }
    std::io::stdout()
        .write_all(&doc.save())
        .expect("the save written to stdout");
}
