//! The engine's own settings: which provisioning actions are on (`[sync.actions]`), the
//! deactivation threshold (`[sync.safety]`), group chunking (`[sync]`) and how writes are
//! sent (`[target] update_mode`, `[target] bulk`). The config file composes them; the engine
//! reads only these.

use serde::Deserialize;

/// How an update is sent.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UpdateMode {
    #[default]
    Patch,
    Put,
}

/// Whether writes go in `/Bulk` requests (`[target] bulk`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BulkMode {
    /// When the target's `/ServiceProviderConfig` advertises `bulk.supported`.
    #[default]
    Auto,
    /// Never: one request per write.
    Off,
}

/// `[sync]`: which provisioning actions are on, the safety threshold, group handling.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    #[serde(default)]
    pub actions: ActionsConfig,
    #[serde(default)]
    pub safety: SafetyConfig,
    /// Members per group PATCH request (large groups are changed in chunks).
    #[serde(default = "default_member_chunk")]
    pub member_chunk: usize,
    /// When a run lists the whole target instead of trusting the state (`"24h"`, a cron
    /// expression, `"always"`, `"never"`): see [`super::kind`].
    #[serde(default)]
    pub full_reconcile: super::kind::FullReconcile,
}

fn default_member_chunk() -> usize {
    100
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            actions: ActionsConfig::default(),
            safety: SafetyConfig::default(),
            member_chunk: default_member_chunk(),
            full_reconcile: super::kind::FullReconcile::default(),
        }
    }
}

/// `[sync.actions]`: each provisioning action, switchable like Okta's and Entra's toggles.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsConfig {
    #[serde(default = "yes")]
    pub create: bool,
    #[serde(default = "yes")]
    pub update: bool,
    #[serde(default = "yes")]
    pub deactivate: bool,
    #[serde(default = "yes")]
    pub reactivate: bool,
    /// DELETE users that are no longer wanted (off by default: deactivation is reversible).
    #[serde(default)]
    pub delete: bool,
    /// With `delete`: delete only users scimsync deactivated at least this many days ago.
    pub delete_after_days: Option<u32>,
    #[serde(default = "yes")]
    pub group_create: bool,
    #[serde(default = "yes")]
    pub group_rename: bool,
    #[serde(default = "yes")]
    pub group_members: bool,
    /// DELETE pushed groups that no rule selects any more (off by default: some apps turn
    /// groups into workspaces or projects, and deleting one deletes what is in it).
    #[serde(default)]
    pub group_delete: bool,
}

fn yes() -> bool {
    true
}

impl Default for ActionsConfig {
    fn default() -> Self {
        ActionsConfig {
            create: true,
            update: true,
            deactivate: true,
            reactivate: true,
            delete: false,
            delete_after_days: None,
            group_create: true,
            group_rename: true,
            group_members: true,
            group_delete: false,
        }
    }
}

/// `[sync.safety]`: the deactivation threshold.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// Most users one run may deactivate or delete.
    #[serde(default = "default_max_deactivations")]
    pub max_deactivations: usize,
    /// Most users one run may deactivate or delete, as a percentage of the users scimsync
    /// manages. Applies when more than `always_allowed` would go.
    #[serde(default = "default_max_percent")]
    pub max_deactivation_percent: f64,
    /// Deactivations a run may always make, whatever the percentage.
    #[serde(default = "default_always_allowed")]
    pub always_allowed: usize,
    /// The rolling window the limits hold over (`"24h"`, `"90m"`, `"0s"` for one run alone):
    /// removals scimsync made within it count toward them, and the percentage is of the
    /// managed active users at the window's start, so a source that shrinks a little every
    /// run cannot deactivate everyone over several runs.
    #[serde(default = "default_safety_window", with = "duration_text")]
    pub window: std::time::Duration,
    /// Which table each limit came from (set by the config, not written in it): the guard's
    /// refusal says where to raise it.
    #[serde(skip)]
    pub from: LimitsFrom,
}

/// The tables `max_deactivations` and `max_deactivation_percent` came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LimitsFrom {
    pub max_deactivations: SafetyTable,
    pub max_deactivation_percent: SafetyTable,
}

/// A table a `[sync.safety]` key can be set in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SafetyTable {
    /// `[sync.safety]` (or not set anywhere: the built-in default, raised there).
    #[default]
    Sync,
    /// `[defaults.sync.safety]` of the many-target form.
    Defaults,
    /// A `[[target]]`'s own `[target.sync.safety]`.
    Target(String),
}

impl std::fmt::Display for SafetyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SafetyTable::Sync => f.write_str("[sync.safety]"),
            SafetyTable::Defaults => f.write_str("[defaults.sync.safety]"),
            SafetyTable::Target(name) => write!(f, "[target.sync.safety] of target \"{name}\""),
        }
    }
}

fn default_safety_window() -> std::time::Duration {
    std::time::Duration::from_secs(24 * 3600)
}

/// Durations written as text (`"24h"`, `"1h 30m"`), as systemd and humantime read them.
mod duration_text {
    use serde::Deserialize as _;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<std::time::Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration ({e}); write it like \"24h\", \"90m\" or \"1h 30m\""
            ))
        })
    }
}

fn default_max_deactivations() -> usize {
    50
}

fn default_max_percent() -> f64 {
    20.0
}

fn default_always_allowed() -> usize {
    5
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            max_deactivations: default_max_deactivations(),
            max_deactivation_percent: default_max_percent(),
            always_allowed: default_always_allowed(),
            window: default_safety_window(),
            from: LimitsFrom::default(),
        }
    }
}
