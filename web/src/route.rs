//! The app's two screens and their URLs: `/` lists runs, `/runs/<uuid>` opens one (the
//! shareable link). The relay answers every unknown path with the app, and the service
//! worker does the same offline, so a link opens wherever the app is served.

use runmesh_core::RunId;

/// Where the app is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The run list.
    Runs,
    /// One run.
    Run(RunId),
    /// A path that names no screen (shown with a way back).
    NotFound,
}

impl Route {
    /// The screen a URL path names.
    pub fn from_path(path: &str) -> Self {
        let path = path.trim_end_matches('/');
        if path.is_empty() || path == "/index.html" {
            return Self::Runs;
        }
        match path.strip_prefix("/runs/").map(str::parse::<RunId>) {
            Some(Ok(run)) => Self::Run(run),
            _ => Self::NotFound,
        }
    }

    /// The URL path of the screen.
    pub fn path(&self) -> String {
        match self {
            Self::Runs | Self::NotFound => "/".to_owned(),
            Self::Run(run) => format!("/runs/{run}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let run = RunId::random();
        assert_eq!(Route::from_path(&Route::Run(run).path()), Route::Run(run));
        assert_eq!(Route::from_path("/"), Route::Runs);
        assert_eq!(Route::from_path(""), Route::Runs);
        assert_eq!(Route::from_path(&format!("/runs/{run}/")), Route::Run(run));
        assert_eq!(Route::from_path("/runs/not-a-uuid"), Route::NotFound);
        assert_eq!(Route::from_path("/elsewhere"), Route::NotFound);
    }
}
