//! [`Grants`]: what one connection or request may do.

use std::collections::HashMap;

use crate::id::RunId;

/// Read or write access to a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// See the run and receive its changes.
    Read,
    /// Also change it.
    Write,
}

impl Access {
    fn name(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a credential does not allow something (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The token names the run with less access than needed.
    #[error("this token grants {have} on run {run}; {} needs {need}", if *need == Access::Write { "a change" } else { "reading" })]
    TooLittle {
        /// The run.
        run: RunId,
        /// What the token grants on it.
        have: Access,
        /// What was needed.
        need: Access,
    },
    /// The token does not name the run.
    #[error("this token grants no access to run {run}")]
    Nothing {
        /// The run.
        run: RunId,
    },
}

/// What a caller may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grants {
    /// Open mode: no auth configured; everything is allowed.
    Open,
    /// Another relay, authenticated by the mesh token.
    Mesh,
    /// A person, by a verified JWT.
    User {
        /// `sub`.
        user: String,
        /// Run UUID (lower-case) or `*` → access.
        runs: HashMap<String, Access>,
    },
}

impl Grants {
    /// The user changes are made for (`None`: whoever the request says, as in open mode).
    pub fn user(&self) -> Option<&str> {
        match self {
            Grants::User { user, .. } => Some(user),
            _ => None,
        }
    }

    /// Whether this caller is a mesh peer.
    pub fn is_mesh(&self) -> bool {
        matches!(self, Grants::Mesh)
    }

    /// The access granted on `run`, if any.
    pub fn access(&self, run: RunId) -> Option<Access> {
        match self {
            Grants::Open | Grants::Mesh => Some(Access::Write),
            Grants::User { runs, .. } => {
                let exact = runs.get(&run.to_string()).copied();
                let any = runs.get("*").copied();
                exact.max(any)
            }
        }
    }

    /// `Ok` if `need` is granted on `run`, else what is missing.
    pub fn check(&self, run: RunId, need: Access) -> Result<(), Denied> {
        match self.access(run) {
            Some(have) if have >= need => Ok(()),
            Some(have) => Err(Denied::TooLittle { run, have, need }),
            None => Err(Denied::Nothing { run }),
        }
    }

    /// Whether the caller may act on every run (list all runs, register peers).
    pub fn is_admin(&self, need: Access) -> bool {
        match self {
            Grants::Open | Grants::Mesh => true,
            Grants::User { runs, .. } => runs.get("*").is_some_and(|a| *a >= need),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(runs: &[(&str, Access)]) -> Grants {
        Grants::User {
            user: "ada".into(),
            runs: runs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn exact_and_wildcard_grants_combine_to_the_stronger() {
        let (a, b) = (RunId::random(), RunId::random());
        let g = user(&[(&a.to_string(), Access::Write), ("*", Access::Read)]);
        assert_eq!(g.access(a), Some(Access::Write));
        assert_eq!(g.access(b), Some(Access::Read));
        assert!(g.check(b, Access::Read).is_ok());
        let why = g.check(b, Access::Write).unwrap_err();
        assert_eq!(
            why.to_string(),
            format!("this token grants read on run {b}; a change needs write")
        );
        assert!(!g.is_admin(Access::Write));
        assert!(g.is_admin(Access::Read));
        let none = user(&[(&a.to_string(), Access::Read)]);
        assert_eq!(
            none.check(b, Access::Read).unwrap_err(),
            Denied::Nothing { run: b }
        );
        assert!(Grants::Open.check(b, Access::Write).is_ok());
    }
}
