//! The random workload and faults: one action each time [`act`] is called.

use rand::Rng;
use runmesh_core::hub::RunOp;

use crate::net::Event;
use crate::world::World;

/// Does one random thing: an edit, a REST operation, presence, a client going offline or
/// online, a broken connection, a partition or its end, a relay's or a client's crash,
/// unloading idle runs.
pub fn act(world: &mut World) -> Result<(), String> {
    match world.rng.random_range(0..100) {
        0..40 => edit(world),
        40..50 => rest(world),
        50..60 => {
            let i = world.rng.random_range(0..world.clients.len());
            let effects = world.clients[i].announce();
            world.perform(i, effects)
        }
        60..65 => {
            let i = world.rng.random_range(0..world.clients.len());
            let client = &mut world.clients[i];
            client.online = !client.online;
            if client.online {
                world.schedule_connect(i);
                Ok(())
            } else {
                match client.conn {
                    Some(conn) => world.cut(conn),
                    None => Ok(()),
                }
            }
        }
        65..68 => {
            let up: Vec<u64> = world
                .conns
                .iter()
                .filter(|(_, c)| c.up)
                .map(|(id, _)| *id)
                .collect();
            if up.is_empty() {
                return Ok(());
            }
            let conn = up[world.rng.random_range(0..up.len())];
            world.cut(conn)
        }
        68..70 => {
            let pairs = world.mesh_pairs().to_vec();
            if pairs.is_empty() {
                return Ok(()); // two relays on one store: no mesh link to cut
            }
            let pair = pairs[world.rng.random_range(0..pairs.len())];
            let cut = world.rng.random_bool(0.5);
            world.partition(pair, cut)
        }
        70..71 => {
            let r = world.rng.random_range(0..world.relays.len());
            world.crash(r)
        }
        71..74 => {
            let r = world.rng.random_range(0..world.relays.len());
            world.relays[r].unload_idle();
            Ok(())
        }
        74..76 => {
            let i = world.rng.random_range(0..world.clients.len());
            world.crash_client(i)
        }
        _ => Ok(()),
    }
}

fn edit(world: &mut World) -> Result<(), String> {
    let i = world.rng.random_range(0..world.clients.len());
    let now = world.now;
    let effects = world.clients[i].edit(&mut world.rng, now);
    world.perform(i, effects)
}

fn rest(world: &mut World) -> Result<(), String> {
    let r = world.rng.random_range(0..world.relays.len());
    let run = world.runs[world.rng.random_range(0..world.runs.len())];
    let op = match world.rng.random_range(0..4) {
        0 | 1 => RunOp::Graft {
            after: "step2".into(),
            agent_name: format!("Rest{}", world.rng.random_range(0..1000)),
        },
        2 => RunOp::SetFlag {
            key: "rest".into(),
            value: world.flag(),
        },
        _ => RunOp::Prune {
            node: "step3".into(),
        },
    };
    world.op(r, run.document_id(), op)
}

impl World {
    /// Client `i` connects as soon as it can.
    pub fn schedule_connect(&mut self, i: usize) {
        self.at_now(Event::Connect { client: i });
    }
}
