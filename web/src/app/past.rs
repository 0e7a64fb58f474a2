//! The open run's past: looking at it as it was after one change (read-only), forking a
//! new run from a point, and merging a fork back into the run it came from. All of it
//! works offline, on this device's copies; the new or merged run syncs when it opens.

use leptos::prelude::*;
use leptos::task::spawn_local;
use runmesh_core::{ChangeHash, Identity, RunDoc, RunId};

use crate::app::context::{Ctx, Past};
use crate::app::session::{self, OpenRun};
use crate::app::store;
use crate::route::Route;

/// Shows the run as it was after change `hash` (`label` says which), until
/// [`back_to_now`].
pub fn view(open: OpenRun, ctx: Ctx, hash: &str, label: String) {
    let Ok(at) = hash.parse::<ChangeHash>() else {
        return ctx.error.set(Some(format!("{hash} is not a change hash")));
    };
    match open.with_run(|run| run.state_at_by_replay(&[at])) {
        Some(Ok(state)) => ctx.past.set(Some(Past {
            hash: hash.to_owned(),
            label,
            state,
        })),
        Some(Err(e)) => ctx.error.set(Some(e.to_string())),
        None => {}
    }
}

/// Shows the run as it is again.
pub fn back_to_now(ctx: Ctx) {
    ctx.past.set(None);
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// Makes a new run whose history is the open run's up to `at` (its heads now if
/// `None`), stores it here and opens it.
pub fn fork(open: OpenRun, ctx: Ctx, at: Option<&str>) {
    let at = match at.map(str::parse::<ChangeHash>).transpose() {
        Ok(at) => at,
        Err(_) => return ctx.error.set(Some("not a change hash".to_owned())),
    };
    let new_id = RunId::random();
    let forked = open.with_run(|run| {
        let mut fork = run.fork(new_id, at.as_ref().map(std::slice::from_ref), now())?;
        Ok::<_, runmesh_core::RunError>((fork.title().to_owned(), fork.save()))
    });
    let (title, bytes) = match forked {
        Some(Ok(forked)) => forked,
        Some(Err(e)) => return ctx.error.set(Some(e.to_string())),
        None => return,
    };
    session::store_and_open(ctx, new_id, title, bytes);
}

/// Takes the open fork's changes into the run it was forked from (this device's copy of
/// it), stores that and opens it.
pub fn merge_back(open: OpenRun, ctx: Ctx) {
    let Some(parent) = ctx.fork_of.get_untracked() else {
        return;
    };
    let Some((fork_id, fork_bytes)) = open.with_run(|run| (run.run_id(), run.save())) else {
        return;
    };
    spawn_local(async move {
        match merge_into(ctx, parent, fork_id, &fork_bytes).await {
            Ok(()) => {
                ctx.error.set(None);
                ctx.reload_runs();
                ctx.navigate(Route::Run(parent));
            }
            Err(e) => ctx.error.set(Some(e)),
        }
    });
}

async fn merge_into(ctx: Ctx, parent: RunId, fork: RunId, bytes: &[u8]) -> Result<(), String> {
    let db = ctx.db().await?;
    let Some(stored) = store::load(&db, parent).await? else {
        return Err(format!(
            "run {parent}, which this one was forked from, is not on this device: open it once, then merge back"
        ));
    };
    let identity = Identity::random(&ctx.region.get_untracked(), &ctx.user.get_untracked())
        .map_err(|e| e.to_string())?;
    let mut target =
        RunDoc::load(parent, identity.clone(), &stored.bytes).map_err(|e| e.to_string())?;
    let mut source = RunDoc::load(fork, identity, bytes).map_err(|e| e.to_string())?;
    target
        .merge_from(&mut source, now())
        .map_err(|e| e.to_string())?;
    // The title alone: the whole state of a big run is not needed for it.
    let title = target.title().to_owned();
    store::save(&db, parent, &title, &target.save(), &stored.acknowledged).await
}
