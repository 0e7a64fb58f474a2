//! `ClientRun`, the client machine the browser app and the npm package perform: nothing
//! that could carry a change goes to the relay before the local store holds it; a failed
//! write sends nothing; a device that restarts on its store delivers what it made.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc};
use runmesh_core::client::{ClientEffect, ClientInput, ClientRun, StoreRequest};
use runmesh_core::sync::PeerId;
use runmesh_core::{DocumentId, RunDoc};
use runmesh_testkit::fixtures::*;
use runmesh_testkit::memory_hub::Hub;

fn base() -> RunDoc {
    RunDoc::create(run_id(), who(1, "eu", "alice"), "T", &steps(&["step1"]), 1).unwrap()
}

/// A device: its client run, and what its store holds (bytes, acknowledged heads).
struct Device {
    run: RunDoc,
    client: ClientRun,
    disk: Option<Vec<u8>>,
    joined_hub: bool,
}

impl Device {
    fn new(mut run: RunDoc, stored: bool) -> Self {
        let disk = stored.then(|| run.save());
        Self {
            client: ClientRun::new(&mut run, stored, Vec::new(), PeerId::from("device")),
            run,
            disk,
            joined_hub: false,
        }
    }

    fn graft(&mut self, agent: &str) -> Vec<ClientEffect> {
        self.run.graft("step1", agent, 2).unwrap();
        self.client.local_change(&mut self.run)
    }

    /// Performs the write that is due; the request, not yet answered.
    fn start_store(&mut self) -> StoreRequest {
        self.client
            .take_store(&mut self.run)
            .expect("a write is due")
    }

    /// Performs the due write to the end; returns the effects of its answer.
    fn store(&mut self) -> Vec<ClientEffect> {
        let request = self.start_store();
        self.disk = Some(request.bytes);
        self.client
            .handle(&mut self.run, ClientInput::Stored(request.id))
    }

    /// Opens a socket to `hub` and delivers frames both ways until quiet, performing
    /// every write when it is due.
    fn sync_with(&mut self, hub: &mut Hub) {
        let effects = self.client.handle(&mut self.run, ClientInput::Opened);
        self.joined_hub = false;
        self.deliver(hub, effects);
    }

    fn deliver(&mut self, hub: &mut Hub, effects: Vec<ClientEffect>) {
        if let Some(why) = self.deliver_until_dropped(hub, effects) {
            panic!("dropped: {why}");
        }
    }

    /// Delivers as [`Device::deliver`] does, until the client drops the connection: why.
    fn deliver_until_dropped(
        &mut self,
        hub: &mut Hub,
        effects: Vec<ClientEffect>,
    ) -> Option<String> {
        let mut queue = std::collections::VecDeque::from(effects);
        let mut rounds = 0;
        while let Some(effect) = queue.pop_front() {
            rounds += 1;
            assert!(rounds < 1_000, "sync did not settle");
            match effect {
                ClientEffect::Send(frame) => {
                    let from = self.joined_hub.then(|| self.client.peer_id().clone());
                    self.joined_hub = true;
                    let me = self.client.peer_id().clone();
                    let replies = hub.receive(from.as_ref(), &frame);
                    for (_, reply) in replies.into_iter().filter(|(to, _)| *to == me) {
                        queue.extend(
                            self.client
                                .handle(&mut self.run, ClientInput::Frame(&reply)),
                        );
                    }
                }
                ClientEffect::StoreDue => queue.extend(self.store()),
                ClientEffect::Drop(why) => return Some(why),
                _ => {}
            }
        }
        None
    }
}

fn sends(effects: &[ClientEffect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, ClientEffect::Send(_)))
        .count()
}

/// The agents the hub holds for the run.
fn hub_agents(hub: &Hub) -> Vec<String> {
    let id: DocumentId = run_id().document_id();
    let (doc, _) = &hub.docs[&id];
    let run = RunDoc::load(run_id(), who(9, "eu", "hub"), &doc.clone().save()).unwrap();
    run.state()
        .grafts
        .iter()
        .map(|g| g.agent_name.clone())
        .collect()
}

#[test]
fn an_edit_goes_to_the_relay_only_once_the_store_holds_it() {
    let mut hub = Hub::new();
    let mut device = Device::new(base(), true);
    device.sync_with(&mut hub);
    assert!(device.client.status(&mut device.run).synced);

    let effects = device.graft("Reviewer");
    assert_eq!(
        effects,
        vec![
            ClientEffect::Changed { local: true },
            ClientEffect::StoreDue
        ]
    );
    let request = device.start_store();
    assert!(device.client.status(&mut device.run).unacknowledged > 0);
    let effects = device
        .client
        .handle(&mut device.run, ClientInput::Stored(request.id));
    assert!(sends(&effects) > 0, "sent once stored: {effects:?}");
    device.deliver(&mut hub, effects);
    assert_eq!(hub_agents(&hub), vec!["Reviewer"]);
    assert!(device.client.status(&mut device.run).synced);
}

#[test]
fn frames_wait_while_a_write_is_in_flight() {
    let mut hub = Hub::new();
    let mut device = Device::new(base(), true);
    device.sync_with(&mut hub);
    device.graft("First");
    let request = device.start_store();
    // A second edit while the first write runs: it waits for a second write.
    let effects = device.graft("Second");
    assert_eq!(effects, vec![ClientEffect::Changed { local: true }]);
    let effects = device
        .client
        .handle(&mut device.run, ClientInput::Stored(request.id));
    assert_eq!(
        effects,
        vec![ClientEffect::StoreDue],
        "the second edit is unstored"
    );
    assert!(device.client.take_store(&mut device.run).is_some());
    assert!(
        device.client.take_store(&mut device.run).is_none(),
        "one write at a time"
    );
}

#[test]
fn a_failed_write_sends_nothing_until_a_later_one_holds_the_change() {
    let mut hub = Hub::new();
    let mut device = Device::new(base(), true);
    device.sync_with(&mut hub);
    device.graft("Reviewer");
    let request = device.start_store();
    let effects = device.client.handle(
        &mut device.run,
        ClientInput::StoreFailed(request.id, "disk full".into()),
    );
    assert_eq!(effects, vec![ClientEffect::StoreFailed("disk full".into())]);
    assert_eq!(device.client.store_failure(), Some("disk full"));
    assert!(!device.client.status(&mut device.run).stored);
    assert_eq!(hub_agents(&hub), Vec::<String>::new());

    let effects = device.client.retry_store(&mut device.run);
    assert_eq!(effects, vec![ClientEffect::StoreDue]);
    device.deliver(&mut hub, effects);
    assert_eq!(hub_agents(&hub), vec!["Reviewer"]);
    assert_eq!(device.client.store_failure(), None);
}

#[test]
fn an_answer_to_a_write_not_in_flight_is_ignored() {
    let mut device = Device::new(base(), true);
    device.graft("Reviewer");
    let request = device.start_store();
    let stale = runmesh_core::client::StoreId(request.id.0 + 7);
    assert_eq!(
        device
            .client
            .handle(&mut device.run, ClientInput::Stored(stale)),
        vec![]
    );
    assert!(!device.client.status(&mut device.run).stored);
}

#[test]
fn a_device_restarted_on_its_store_delivers_what_it_made_offline() {
    let mut hub = Hub::new();
    let mut first = Device::new(base(), true);
    first.sync_with(&mut hub);
    first.client.handle(&mut first.run, ClientInput::Closed);
    // Offline: the edit is stored, never sent; then the device dies.
    let effects = first.graft("Offline agent");
    assert_eq!(sends(&effects), 0);
    let effects = first.store();
    assert_eq!(sends(&effects), 0, "no socket: nothing to send");
    let disk = first.disk.take().unwrap();
    drop(first);

    let run = RunDoc::load(run_id(), who(2, "eu", "alice"), &disk).unwrap();
    let mut second = Device::new(run, true);
    assert!(
        second.client.take_store(&mut second.run).is_none(),
        "the store holds it already"
    );
    second.sync_with(&mut hub);
    assert_eq!(hub_agents(&hub), vec!["Offline agent"]);
    assert!(second.client.status(&mut second.run).synced);
}

#[test]
fn a_run_new_to_the_store_is_written_first() {
    let mut hub = Hub::new();
    let mut device = Device::new(base(), false);
    assert!(!device.client.status(&mut device.run).stored);
    device.sync_with(&mut hub);
    assert!(device.disk.is_some(), "written before anything was sent");
    let stored = RunDoc::load(run_id(), who(3, "eu", "a"), device.disk.as_ref().unwrap());
    assert_eq!(stored.unwrap().state().title, "T");
    assert!(device.client.status(&mut device.run).synced);
    let doc = &hub.docs[&run_id().document_id()].0;
    assert!(doc.length(automerge::ROOT) > 0, "the relay has the run");
}

#[test]
fn a_client_without_a_store_sends_at_once() {
    let mut hub = Hub::new();
    let mut run = base();
    let mut device = Device {
        client: ClientRun::without_store(&mut run, PeerId::from("script")),
        run,
        disk: None,
        joined_hub: false,
    };
    device.sync_with(&mut hub);
    let effects = device.graft("Reviewer");
    assert!(!effects.contains(&ClientEffect::StoreDue), "{effects:?}");
    assert!(sends(&effects) > 0, "{effects:?}");
    assert!(device.client.take_store(&mut device.run).is_none());
    device.deliver(&mut hub, effects);
    assert_eq!(hub_agents(&hub), vec!["Reviewer"]);
}

/// A relay that sends changes past what a run may weigh on this device (a hostile one,
/// or one whose own limit is higher) is refused before Automerge applies them: nothing
/// of them is kept, and the connection is dropped, saying why.
#[test]
fn changes_that_would_take_the_run_past_the_clients_limit_are_refused() {
    let mut hub = Hub::new();
    let mut writer = Device::new(base(), true);
    writer.sync_with(&mut hub);
    let am = writer.run.automerge_mut();
    let notes = am.put_object(ROOT, "notes", ObjType::Text).unwrap();
    am.splice_text(&notes, 0, 0, &"n".repeat(5_000)).unwrap();
    am.commit();
    writer.run.refresh();
    let effects = writer.client.local_change(&mut writer.run);
    writer.deliver(&mut hub, effects);

    let mut reader = Device::new(base(), true);
    reader.client = ClientRun::new(&mut reader.run, true, Vec::new(), PeerId::from("reader"));
    reader.client.limit_run_weight(500_000);
    let before = reader.run.heads();
    let effects = reader.client.handle(&mut reader.run, ClientInput::Opened);
    let why = reader
        .deliver_until_dropped(&mut hub, effects)
        .expect("the changes were refused");
    assert!(
        why.contains("limit of 500000 bytes") && why.contains("nothing applied"),
        "{why}"
    );
    assert_eq!(reader.run.heads(), before, "nothing of them was applied");

    // Under the default limit the same changes are taken in.
    let mut other = Device::new(base(), true);
    other.client = ClientRun::new(&mut other.run, true, Vec::new(), PeerId::from("other"));
    other.sync_with(&mut hub);
    assert_eq!(other.run.heads(), writer.run.heads());
}
