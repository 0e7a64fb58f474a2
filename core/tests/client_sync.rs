//! `ClientSync` against a small in-memory hub built from the same engine parts a relay
//! uses (handshake, `DocSync`): runs converge, a bare replica asks rather than creates,
//! unacknowledged changes are counted, ephemeral data reaches the other client.

use std::collections::VecDeque;

use runmesh_core::sync::{ClientError, ClientSync, PeerId, WireMessage};
use runmesh_core::{RunDoc, RunId};
use runmesh_testkit::fixtures::*;
use runmesh_testkit::memory_hub::Hub;

struct Client {
    run: RunDoc,
    sync: ClientSync,
    joined: bool,
}

impl Client {
    fn new(run: RunDoc, name: &str) -> Self {
        let sync = ClientSync::new(run.run_id(), PeerId::from(name));
        Self {
            run,
            sync,
            joined: false,
        }
    }

    fn unacknowledged(&mut self) -> usize {
        self.sync.unacknowledged(&mut self.run)
    }

    fn in_sync(&mut self) -> bool {
        self.sync.in_sync(&mut self.run)
    }

    fn local_change(&mut self) -> Vec<Vec<u8>> {
        self.sync.local_change(&mut self.run)
    }
}

/// Delivers frames between the hub and the clients until nothing is in flight.
/// `opened` are clients whose `open` frame should go first. Returns every
/// `Received` per client index.
fn pump(
    hub: &mut Hub,
    clients: &mut [Client],
    mut outgoing: VecDeque<(usize, Vec<u8>)>,
) -> Vec<Vec<runmesh_core::sync::Received>> {
    let mut seen: Vec<Vec<_>> = clients.iter().map(|_| Vec::new()).collect();
    let mut rounds = 0;
    while let Some((i, frame)) = outgoing.pop_front() {
        rounds += 1;
        assert!(rounds < 1000, "sync did not settle");
        let from = clients[i].joined.then(|| clients[i].sync.peer_id().clone());
        clients[i].joined = true;
        for (to, reply) in hub.receive(from.as_ref(), &frame) {
            let j = clients
                .iter()
                .position(|c| *c.sync.peer_id() == to)
                .unwrap();
            let client = &mut clients[j];
            let received = client.sync.receive(&mut client.run, &reply).unwrap();
            outgoing.extend(received.frames.iter().map(|f| (j, f.clone())));
            seen[j].push(received);
        }
    }
    seen
}

#[test]
fn clients_converge_through_the_hub_and_count_what_it_lacks() {
    let run_id = RunId::random();
    let created = RunDoc::create(
        run_id,
        who(1, "us", "alice"),
        "Release",
        &steps(&["step1", "step2"]),
        1,
    )
    .unwrap();
    let mut hub = Hub::new();
    let mut clients = vec![
        Client::new(created, "a"),
        Client::new(RunDoc::genesis(run_id, who(2, "eu", "bob")), "b"),
    ];
    clients[0].run.graft("step1", "Offline", 2).unwrap();
    assert_eq!(
        clients[0].unacknowledged(),
        2,
        "create + graft, nothing acknowledged yet"
    );
    // While not joined a local change produces nothing to send.
    assert!(clients[0].local_change().is_empty());

    let open_a = clients[0].sync.open();
    let seen = pump(&mut hub, &mut clients, VecDeque::from([(0, open_a)]));
    assert!(seen[0][0].joined);
    assert_eq!(clients[0].unacknowledged(), 0);

    let open_b = clients[1].sync.open();
    pump(&mut hub, &mut clients, VecDeque::from([(1, open_b)]));
    assert_eq!(clients[1].run.state().title, "Release");

    let frames = {
        let c = &mut clients[1];
        c.run.graft("step2", "Reviewer", 3).unwrap();
        c.sync.local_change(&mut c.run)
    };
    assert!(!frames.is_empty());
    let seen = pump(
        &mut hub,
        &mut clients,
        frames.into_iter().map(|f| (1, f)).collect(),
    );
    assert!(seen[0].iter().any(|r| r.changed), "a heard of b's graft");
    assert_eq!(clients[0].run.state(), clients[1].run.state());
    assert_eq!(clients[0].run.heads(), clients[1].run.heads());
    assert_eq!(clients[1].unacknowledged(), 0);
    assert!(clients[1].in_sync());
    clients[1].run.graft("step1", "Unsent", 4).unwrap();
    assert!(!clients[1].in_sync());
}

#[test]
fn a_bare_replica_requests_and_hears_unavailable() {
    let mut hub = Hub::new();
    let mut clients = vec![Client::new(
        RunDoc::genesis(RunId::random(), who(2, "eu", "bob")),
        "b",
    )];
    let open = clients[0].sync.open();
    let seen = pump(&mut hub, &mut clients, VecDeque::from([(0, open)]));
    assert!(seen[0].iter().any(|r| r.unavailable));
    assert!(hub.docs.is_empty(), "a request must not create the run");
}

#[test]
fn ephemeral_data_reaches_the_other_client_only() {
    let run_id = RunId::random();
    let mut hub = Hub::new();
    let mut clients = vec![
        Client::new(
            RunDoc::create(run_id, who(1, "us", "alice"), "R", &steps(&["step1"]), 1).unwrap(),
            "a",
        ),
        Client::new(RunDoc::genesis(run_id, who(2, "eu", "bob")), "b"),
    ];
    assert!(clients[0].sync.ephemeral(vec![1]).is_none(), "not joined");
    for i in 0..2 {
        let open = clients[i].sync.open();
        pump(&mut hub, &mut clients, VecDeque::from([(i, open)]));
    }
    let frame = clients[0]
        .sync
        .ephemeral(vec![0xa1, 0x61, 0x78, 0x01])
        .unwrap();
    let seen = pump(&mut hub, &mut clients, VecDeque::from([(0, frame)]));
    assert!(seen[0].is_empty());
    assert_eq!(
        seen[1][0].ephemeral,
        vec![(PeerId::from("a"), vec![0xa1, 0x61, 0x78, 0x01])]
    );
}

#[test]
fn refusals_and_garbage_are_errors() {
    let mut run = RunDoc::genesis(RunId::random(), who(2, "eu", "bob"));
    let mut sync = ClientSync::new(run.run_id(), PeerId::from("c"));
    assert_eq!(sync.receive(&mut run, b"x"), Err(ClientError::NotOpen));
    sync.open();
    let err = sync.receive(&mut run, b"\xff\x00").unwrap_err();
    assert!(matches!(err, ClientError::Malformed(_)), "{err}");
    let refusal = WireMessage::Error {
        message: "token expired".into(),
        sender_id: None,
        target_id: None,
    }
    .encode();
    let err = sync.receive(&mut run, &refusal).unwrap_err();
    assert_eq!(
        err.to_string(),
        "handshake with the relay failed: peer refused the handshake: token expired"
    );
}

/// A replica that has only the genesis gets a large run as one whole document (Automerge
/// sends one when the peer lacks over a third of the changes) and takes it in as a load
/// (`sync::whole_doc`): the view it had already read is read afresh, its own actor stays,
/// and its next edit reaches the other side.
#[test]
fn a_bare_replica_takes_a_large_run_whole_and_goes_on_editing() {
    let run_id = RunId::random();
    let mut created =
        RunDoc::create(run_id, who(1, "us", "alice"), "Large", &steps(&["plan"]), 1).unwrap();
    for i in 0..200 {
        created.graft("plan", &format!("Agent{i}"), 2 + i).unwrap();
    }
    let mut hub = Hub::new();
    let mut clients = vec![
        Client::new(created, "a"),
        Client::new(RunDoc::genesis(run_id, who(2, "eu", "bob")), "b"),
    ];
    let open_a = clients[0].sync.open();
    pump(&mut hub, &mut clients, VecDeque::from([(0, open_a)]));

    assert_eq!(clients[1].run.state().pipeline.len(), 0, "the view is read");
    let open_b = clients[1].sync.open();
    pump(&mut hub, &mut clients, VecDeque::from([(1, open_b)]));
    assert_eq!(clients[1].run.state(), clients[0].run.state());
    assert_eq!(clients[1].run.state().pipeline.len(), 201);

    let frames = {
        let c = &mut clients[1];
        c.run.graft("plan", "FromBob", 500).unwrap();
        let state = c.run.state();
        let graft = state.grafts.iter().find(|g| g.agent_name == "FromBob");
        assert_eq!(graft.map(|g| &*g.by), Some("bob"));
        let actor = c.run.identity().actor().clone();
        assert_eq!(c.run.automerge_mut().get_actor(), &actor);
        c.run.refresh();
        c.sync.local_change(&mut c.run)
    };
    pump(
        &mut hub,
        &mut clients,
        frames.into_iter().map(|f| (1, f)).collect(),
    );
    assert_eq!(clients[0].run.state(), clients[1].run.state());
    assert_eq!(clients[0].run.state().pipeline.len(), 202);
    assert_eq!(clients[1].unacknowledged(), 0);
}
