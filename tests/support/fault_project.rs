//! A project syncing a JSON export into one in-process fault server through `run_sync`: the
//! mapping, a token file, the export and a single-target config, each rewritable between runs.

use scimsync::config::Config;
use scimsync::state::State;
use scimsync::sync::{RunOptions, RunReport, SyncError, run_sync};
use serde_json::Value as Json;

pub struct FaultProject {
    pub dir: tempfile::TempDir,
    url: String,
}

impl FaultProject {
    /// `map` as the mapping, `users` as the export, `target` keys in `[target]`.
    pub fn new(url: &str, map: &str, target: &str, users: &Json) -> FaultProject {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.map"), map).unwrap();
        std::fs::write(dir.path().join("token"), "secret-token\n").unwrap();
        std::fs::set_permissions(
            dir.path().join("token"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let project = FaultProject {
            dir,
            url: url.to_owned(),
        };
        project.users(users);
        project.config(target, "");
        project
    }

    /// Rewrites the config with `target` keys in `[target]` and `sync` lines in `[sync]`.
    pub fn config(&self, target: &str, sync: &str) {
        std::fs::write(
            self.dir.path().join("scimsync.toml"),
            format!(
                "mapping = \"m.map\"\n[source]\nkind = \"json\"\npath = \"users.json\"\nformat = \"plain\"\n\
                 [target]\nurl = \"{}\"\ntoken_file = \"token\"\ntimeout_seconds = 1\nmax_backoff_seconds = 2\n{target}\n\
                 [sync]\n{sync}\n[state]\npath = \"state\"\n",
                self.url
            ),
        )
        .unwrap();
    }

    pub fn users(&self, users: &Json) {
        std::fs::write(self.dir.path().join("users.json"), users.to_string()).unwrap();
    }

    pub fn state(&self) -> State {
        let state = super::state_json(&self.dir.path().join("state"), None).expect("a state");
        serde_json::from_value(state).expect("a state")
    }

    pub async fn run(&self) -> Result<RunReport, SyncError> {
        let config = Config::load(&self.dir.path().join("scimsync.toml")).unwrap();
        let mut runs = run_sync(&config, &RunOptions::new(false)).await?;
        assert_eq!(runs.len(), 1);
        runs.remove(0).report
    }
}
