//! The open-file budget. Every connection is a file descriptor, so `--max-connections`
//! must fit under RLIMIT_NOFILE with room for the relay's own files; past the limit,
//! `accept` fails and nothing (not even `/health`) gets in. At start-up the soft limit
//! is raised as far as needed (up to the hard limit, as a process may); a cap that still
//! does not fit is lowered to what does, with a warning that names the numbers.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept for all but client connections: the listener, the runtime, the
/// store's files, the database pool, outbound mesh links, logs.
pub const OWN_FILES: u64 = 256;

/// The limit leaves no room for a single connection.
#[derive(Debug, thiserror::Error)]
#[error(
    "the open-file limit (RLIMIT_NOFILE) is {limit}, too low to serve connections beside the relay's own {OWN_FILES} files; raise it (ulimit -n, systemd LimitNOFILE=)"
)]
pub struct TooFewFiles {
    limit: u64,
}

/// How many connections to serve: `wanted` if they fit beside `extra` more sockets and
/// the relay's own files (raising the soft limit if need be), else as many as fit.
pub fn connections_within_limit(wanted: usize, extra: usize) -> Result<usize, TooFewFiles> {
    let need = (wanted as u64)
        .saturating_add(extra as u64)
        .saturating_add(OWN_FILES);
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    // `None` is RLIM_INFINITY.
    let soft = current.unwrap_or(u64::MAX);
    if soft >= need {
        return Ok(wanted);
    }
    let hard = maximum.unwrap_or(u64::MAX);
    let raised = need.min(hard);
    let soft = match setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(raised),
            maximum,
        },
    ) {
        Ok(()) => {
            tracing::info!(
                from = soft,
                to = raised,
                "raised the soft open-file limit for --max-connections {wanted}"
            );
            raised
        }
        Err(e) => {
            tracing::warn!(error = %e, soft, "could not raise the open-file limit");
            soft
        }
    };
    if soft >= need {
        return Ok(wanted);
    }
    let fit = soft.saturating_sub(OWN_FILES + extra as u64);
    if fit == 0 {
        return Err(TooFewFiles { limit: soft });
    }
    tracing::warn!(
        "--max-connections {wanted} needs {need} open files but the limit (RLIMIT_NOFILE) is {soft}: \
         serving at most {fit} connections; raise the limit (ulimit -n, systemd LimitNOFILE=) \
         or lower --max-connections"
    );
    Ok(usize::try_from(fit).unwrap_or(wanted))
}
