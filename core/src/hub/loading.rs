//! The hub's side of its store: a run loaded (or found unreadable), a persist that
//! failed, and loading the run again after a failure or a refused input.

use crate::hub::budget::MIN_RUN_WEIGHT;
use crate::hub::content::Content;
use crate::hub::{Effect, HubEvent, LOAD_CEILING, OpError, PersistId, RunHub, State};

impl<R> RunHub<R> {
    pub(super) fn loaded(
        &mut self,
        loaded: Result<Option<crate::hub::Stored>, String>,
        out: &mut Vec<Effect<R>>,
    ) {
        let ceiling = self.config.max_document_bytes.saturating_mul(LOAD_CEILING);
        self.memory_refused = false;
        // What was learnt of the document held before does not hold for the one loaded.
        self.after.clear();
        let loaded = loaded.and_then(|stored| {
            let weight = stored
                .as_ref()
                .map_or(0, |s| crate::bounds::weight_of_stored(&s.bytes));
            if weight > ceiling {
                // Taken in before runs were weighed by their ops: loading it could take
                // more memory than the relay has (one such run of 150 KB asked Automerge
                // for 3.7 GB).
                return Err(format!(
                    "run {} weighs {weight} bytes (uncompressed, at {} bytes an op), more than {LOAD_CEILING} times --max-document-bytes ({}): not loaded",
                    self.run_id,
                    crate::bounds::OP_WEIGHT,
                    self.config.max_document_bytes
                ));
            }
            if let Some(budget) = &self.config.budget {
                // What it held before (a reload) is given back first. A run the store
                // lacks is in memory too (its hub, its peers' sync state): it weighs
                // at least MIN_RUN_WEIGHT, so that asking for made-up runs fills the
                // budget, not the machine.
                budget.release(self.run_id, std::mem::take(&mut self.reserved));
                let weight = weight.max(MIN_RUN_WEIGHT);
                if !budget.try_reserve(self.run_id, weight) {
                    out.push(Effect::Event(HubEvent::MemoryFull));
                    self.memory_refused = true;
                    return Err(format!(
                        "run {} weighs {weight} bytes and this relay's runs in memory weigh {} of {} (--max-loaded-bytes): not loaded; try again later",
                        self.run_id,
                        budget.used(),
                        budget.limit()
                    ));
                }
                self.reserved = weight;
            }
            match stored {
                None => Ok(None),
                Some(stored) => Content::load(self.run_id, &self.config.identity, &stored.bytes)
                    .map(|content| Some((content, stored)))
                    .map_err(|e| e.to_string()),
            }
        });
        self.state = match loaded {
            Err(why) => {
                out.push(Effect::Event(HubEvent::Unreadable(why.clone())));
                State::Unreadable(why)
            }
            Ok(None) => {
                self.durable.reset(Vec::new(), 0, 0);
                State::Ready(None)
            }
            Ok(Some((mut content, stored))) => {
                let heads = content.unchanged().get_heads();
                self.durable.reset(
                    heads,
                    stored.chunks,
                    crate::bounds::weight_of_stored(&stored.bytes),
                );
                State::Ready(Some(content))
            }
        };
        if std::mem::take(&mut self.reloading) {
            // The peers sent changes that are gone now (unstored, or held back for a
            // dependency), and they count them as sent: every session starts over and
            // asks them to send what we lack.
            self.sync.restart_all();
        }
        self.attach_mesh();
    }

    /// Whether the run was not loaded because the relay's memory was full: the shell
    /// drops the hub at once, so that the next input loads it again (a refusal kept
    /// until the run had been idle for a while locked its readers out while anyone
    /// kept reading it).
    pub fn refused_for_memory(&self) -> bool {
        self.memory_refused && matches!(self.state, State::Unreadable(_))
    }

    /// A store failed: the changes it held are dropped with the rest not yet stored.
    pub(super) fn store_failed(&mut self, id: PersistId, why: String, out: &mut Vec<Effect<R>>) {
        if !self.durable.failed(id) {
            return;
        }
        out.push(Effect::Event(HubEvent::StoreFailed(why.clone())));
        self.reload(why, out);
    }

    /// Drops the run as held in memory (and every change not yet stored: their
    /// operations fail) and loads it again from the store; then every sync session
    /// starts over (see `loaded`). After a failed store, and after Automerge panicked
    /// while applying changes, which may have left part of them in the document.
    pub(super) fn reload(&mut self, why: String, out: &mut Vec<Effect<R>>) {
        for held in self.held.drain(..) {
            let result = Err(OpError::Storage(why.clone()));
            out.push(Effect::Reply {
                to: held.to,
                result,
            });
        }
        self.reloading = true;
        self.state = State::Loading;
        self.stale = false;
        self.appeared = false;
        self.source_region = None;
        out.push(Effect::Load);
    }
}
