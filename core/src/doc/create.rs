//! Creating a run: the genesis change, then one change with the title and base steps.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT};

use crate::doc::RunDoc;
use crate::doc::edits::Op;
use crate::error::RunError;
use crate::id::{NodeId, RunId};
use crate::identity::Identity;
use crate::record::keys;
use crate::text;

/// The longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest step name accepted, in characters.
pub const MAX_STEP_NAME_CHARS: usize = 200;
/// The most base steps a run may list.
pub const MAX_STEPS: usize = 1000;

/// A base step of a new run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct StepSpec {
    /// Unique within the run.
    pub id: NodeId,
    /// Display name; defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    /// The agent that runs the step, if any.
    #[serde(default)]
    pub agent: Option<String>,
}

impl StepSpec {
    /// A step whose name is its id.
    pub fn new(id: &str) -> Result<Self, RunError> {
        let id = id.parse().map_err(|e| RunError::node_id("step id", e))?;
        Ok(Self {
            id,
            name: None,
            agent: None,
        })
    }
}

impl RunDoc {
    /// Creates a run: the shared genesis change, then (if there is a title or steps) one
    /// change that writes them. Everything is checked before anything is written.
    pub fn create(
        run_id: RunId,
        identity: Identity,
        title: &str,
        steps: &[StepSpec],
        now_ms: u64,
    ) -> Result<Self, RunError> {
        validate(title, steps)?;
        let mut run = Self::genesis(run_id, identity);
        if title.is_empty() && steps.is_empty() {
            return Ok(run);
        }
        let steps_obj = run.containers.steps.clone();
        let doc = &mut run.doc;
        doc.put(ROOT, keys::RUN_ID, run_id.to_string())?;
        if !title.is_empty() {
            doc.put(ROOT, keys::TITLE, title)?;
        }
        for (i, step) in steps.iter().enumerate() {
            let obj = doc.insert_object(&steps_obj, i, ObjType::Map)?;
            doc.put(&obj, keys::STEP_ID, step.id.as_str())?;
            doc.put(
                &obj,
                keys::STEP_NAME,
                step.name.as_deref().unwrap_or(step.id.as_str()),
            )?;
            if let Some(agent) = &step.agent {
                doc.put(&obj, keys::STEP_AGENT, agent.as_str())?;
            }
        }
        run.commit(
            Op::Create,
            None,
            &format!("{title} ({} steps)", steps.len()),
            now_ms,
        );
        // The view has not been read yet; its first use reads the title and steps.
        debug_assert!(!run.view_is_built());
        Ok(run)
    }
}

fn validate(title: &str, steps: &[StepSpec]) -> Result<(), RunError> {
    let len = title.chars().count();
    if len > MAX_TITLE_CHARS {
        return Err(RunError::TitleTooLong {
            len,
            max: MAX_TITLE_CHARS,
        });
    }
    text::check(|| "title".into(), title)?;
    if steps.len() > MAX_STEPS {
        return Err(RunError::TooManySteps {
            count: steps.len(),
            max: MAX_STEPS,
        });
    }
    let mut seen = std::collections::HashSet::new();
    for step in steps {
        if !seen.insert(&step.id) {
            return Err(RunError::DuplicateStep(step.id.clone()));
        }
        for (field, name) in [("name", &step.name), ("agent", &step.agent)] {
            let Some(name) = name.as_deref() else {
                continue;
            };
            let len = name.chars().count();
            if name.trim().is_empty() || len > MAX_STEP_NAME_CHARS {
                return Err(RunError::InvalidStepName {
                    id: step.id.to_string(),
                    len,
                    max: MAX_STEP_NAME_CHARS,
                });
            }
            text::check(|| format!("step {:?} {field}", step.id.as_str()), name)?;
        }
    }
    Ok(())
}
