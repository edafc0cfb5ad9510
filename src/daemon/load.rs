//! What the daemon serves: the config (narrowed to `--target`), every served target's plan
//! and parsed schedule, and the targets it cannot serve with why. Loaded at start (where no
//! usable target at all is fatal) and on SIGHUP, where a target whose new settings or mapping
//! are rejected keeps the ones it had ([`reload`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::schedule::{Schedule, ScheduleError};
use crate::config::{Config, ConfigError, RejectedTarget};
use crate::sync::SyncError;
use crate::sync::plans::Plans;

/// Why the daemon cannot start with (or reload) a config.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "config {}: target `{target}` has no schedule: `scimsync daemon` needs a [schedule] section with `cron = \"...\"` (shared, or the target's own)",
        .path.display()
    )]
    NoSchedule { path: PathBuf, target: String },
    #[error("config {}: target `{target}`: {source}", .path.display())]
    Schedule {
        path: PathBuf,
        target: String,
        source: ScheduleError,
    },
    /// No target can run: each one's settings or mapping is unusable.
    #[error("no target can run: {}", names(.0))]
    NoUsableTarget(Vec<Unusable>),
}

fn names(unusable: &[Unusable]) -> String {
    unusable
        .iter()
        .map(Unusable::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A target the daemon cannot serve, and why.
#[derive(Clone, Debug)]
pub enum Unusable {
    /// Its settings are wrong.
    Rejected(RejectedTarget),
    /// Its mapping does not compile.
    Mapping { name: String, error: Arc<SyncError> },
}

impl Unusable {
    pub fn name(&self) -> &str {
        match self {
            Unusable::Rejected(rejected) => &rejected.name,
            Unusable::Mapping { name, .. } => name,
        }
    }

    /// Its diagnostics: a mapping's compiler style, settings as `error: ...`.
    pub fn render(&self) -> String {
        match self {
            Unusable::Rejected(rejected) => format!("error: {rejected}"),
            Unusable::Mapping { error, .. } => crate::sync::render::error_text(error),
        }
    }
}

/// The daemon's words for a config it cannot use, at start-up (on stderr) and on a rejected
/// reload (in the log): a mapping's diagnostics compiler style before its headline, anything
/// else as `error: ...`.
pub fn render_load(error: &LoadError) -> String {
    match error {
        LoadError::NoUsableTarget(unusable) => unusable
            .iter()
            .map(|u| u.render().trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("error: {other}"),
    }
}

/// A config with everything derived from it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub plans: Plans,
    /// The schedule of every served target.
    pub schedules: BTreeMap<String, Schedule>,
    /// The targets not served, with why.
    pub unusable: Vec<Unusable>,
}

impl Loaded {
    /// Loads the config, narrows it to `selection` (all targets when empty), parses each
    /// target's schedule and compiles the mappings. Fails when no target can run.
    pub fn load(path: &Path, selection: &[String]) -> Result<Loaded, LoadError> {
        let config = Config::load(path)?.select(selection)?;
        let schedules = schedules(&config)?;
        let plans = Plans::load(&config);
        let unusable: Vec<Unusable> = config
            .rejected
            .iter()
            .cloned()
            .map(Unusable::Rejected)
            .chain(plans.failures().map(|(name, error)| Unusable::Mapping {
                name: name.to_owned(),
                error: error.clone(),
            }))
            .collect();
        let loaded = Loaded {
            config,
            plans,
            schedules,
            unusable,
        };
        if loaded.served().next().is_none() {
            return Err(LoadError::NoUsableTarget(loaded.unusable));
        }
        Ok(loaded)
    }

    /// The targets with a plan, in config order.
    pub fn served(&self) -> impl Iterator<Item = &crate::config::Target> {
        self.config
            .targets
            .iter()
            .filter(|t| matches!(self.plans.get(&t.name), Some(Ok(_))))
    }

    /// Whether the target named `name` is served.
    pub fn serves(&self, name: &str) -> bool {
        self.served().any(|t| t.name == name)
    }

    /// Every target's name, served or not, in config order.
    pub fn names(&self) -> Vec<&str> {
        self.config.names().collect()
    }

    /// The failure streak after which `name`'s failures are errors and it is unhealthy: its
    /// own schedule's, else the shared one.
    pub fn failure_threshold(&self, name: &str) -> u32 {
        self.config
            .target(name)
            .and_then(|t| t.schedule.as_ref())
            .map_or_else(|| self.config.failure_threshold(), |s| s.failure_threshold)
    }

    pub fn expose_details(&self) -> bool {
        self.config.http.as_ref().is_some_and(|h| h.expose_details)
    }

    pub fn max_success_age_seconds(&self) -> u64 {
        self.config
            .http
            .as_ref()
            .map_or(86_400, |h| h.max_success_age_seconds)
    }

    /// Gives `name` back what it had in `previous`: its settings, plan and schedule.
    fn keep_previous(&mut self, name: &str, previous: &Loaded) {
        let Some(target) = previous.config.target(name) else {
            return;
        };
        self.config.rejected.retain(|r| r.name != name);
        match self.config.targets.iter_mut().find(|t| t.name == name) {
            Some(slot) => *slot = target.clone(),
            None => self.config.targets.push(target.clone()),
        }
        self.plans.keep(name, &previous.plans);
        if let Some(schedule) = previous.schedules.get(name) {
            self.schedules.insert(name.to_owned(), schedule.clone());
        }
        self.unusable.retain(|u| u.name() != name);
    }
}

/// Every usable target's schedule; a target without one cannot be served by the daemon.
fn schedules(config: &Config) -> Result<BTreeMap<String, Schedule>, LoadError> {
    config
        .targets
        .iter()
        .map(|target| {
            let Some(schedule) = &target.schedule else {
                return Err(LoadError::NoSchedule {
                    path: config.path.clone(),
                    target: target.name.clone(),
                });
            };
            let parsed = Schedule::new(schedule).map_err(|source| LoadError::Schedule {
                path: config.path.clone(),
                target: target.name.clone(),
                source,
            })?;
            Ok((target.name.clone(), parsed))
        })
        .collect()
}

/// A reloaded config, and the targets whose new settings or mapping were rejected (each
/// kept what it had).
#[derive(Debug)]
pub struct Reloaded {
    pub loaded: Loaded,
    pub kept: Vec<Unusable>,
}

/// Re-reads the config (SIGHUP). A config that fails as a whole, or in which no target can
/// run, is an error (the caller keeps `previous`); otherwise a target `previous` served whose
/// new settings or mapping are unusable keeps its previous settings and plan.
pub fn reload(path: &Path, selection: &[String], previous: &Loaded) -> Result<Reloaded, LoadError> {
    let mut loaded = Loaded::load(path, selection)?;
    let kept: Vec<Unusable> = loaded
        .unusable
        .iter()
        .filter(|u| previous.serves(u.name()))
        .cloned()
        .collect();
    for unusable in &kept {
        loaded.keep_previous(unusable.name(), previous);
    }
    Ok(Reloaded { loaded, kept })
}
