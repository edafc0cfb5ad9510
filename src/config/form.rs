//! The two ways a config is written, and how each becomes a [`Config`]:
//!
//! - **single** (the first form): top-level `mapping`, one `[target]`, `[state] path`. It is one
//!   target, named by `[target] name` or after its URL's host, and behaves as it always did.
//! - **many**: `[[target]]` sections. Each inherits `[defaults]` (any target key), `[sync]` and
//!   `[schedule]`, key by key (tables merge, a target's own key wins). Every target's state is
//!   in `<[state] dir>/scimsync.db`; its JSON state file from older versions (imported once,
//!   and where its lock file goes) is `<[state] dir>/<name>.json` unless it names one with
//!   `state`.
//!
//! A target whose own keys are wrong is set aside as rejected (it fails alone); a file that is
//! wrong as a whole (syntax, `[source]`, names) is an error.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

use super::{
    AuditConfig, Config, ConfigError, Form, HttpConfig, Invalid, RejectedTarget, ScheduleConfig,
    StateConfig, Target, TargetConfig, name, validate_sync,
};
use crate::sync::settings::{LimitsFrom, SafetyTable, SyncConfig};
use scimsync_source::SourceConfig;

/// The single-target form, exactly as it was written before `[[target]]` existed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SingleForm {
    mapping: PathBuf,
    source: SourceConfig,
    target: TargetConfig,
    state: StateConfig,
    #[serde(default)]
    sync: SyncConfig,
    #[serde(default)]
    schedule: Option<ScheduleConfig>,
    #[serde(default)]
    audit: Option<AuditConfig>,
    #[serde(default)]
    http: Option<HttpConfig>,
}

/// The many-target form: the shared parts typed, each target's keys kept as a table until its
/// inherited keys are merged in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManyForm {
    source: SourceConfig,
    #[serde(rename = "target")]
    targets: Vec<Table>,
    #[serde(default)]
    defaults: Table,
    #[serde(default)]
    state: StateDir,
    #[serde(default)]
    sync: Table,
    #[serde(default)]
    schedule: Option<Table>,
    #[serde(default)]
    audit: Option<AuditConfig>,
    #[serde(default)]
    http: Option<HttpConfig>,
}

/// `[state]` in the many-target form: the directory each target's state file goes in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateDir {
    #[serde(default = "default_state_dir")]
    dir: PathBuf,
}

impl Default for StateDir {
    fn default() -> Self {
        StateDir {
            dir: default_state_dir(),
        }
    }
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("state")
}

/// Keys of the single-target form that mean nothing beside `[[target]]`.
const SINGLE_ONLY: [&str; 1] = ["mapping"];

/// Keys each `[[target]]` gives itself, never inherited.
const OWN_KEYS: [&str; 2] = ["name", "state"];

/// Parses `text` (read from `path`) in whichever form it is written.
pub(super) fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let parse_error = |e: toml::de::Error| ConfigError::Parse {
        path: shown.clone(),
        message: e.to_string().trim_end().to_owned(),
    };
    let invalid = |problem: Invalid| ConfigError::Invalid {
        path: shown.clone(),
        problem,
    };
    let document: Table = toml::from_str(text).map_err(parse_error)?;
    let base = path.parent().unwrap_or(Path::new("."));
    match document.get("target") {
        Some(Value::Array(_)) => {
            if let Some(key) = SINGLE_ONLY.iter().find(|k| document.contains_key(**k)) {
                return Err(invalid(Invalid::MixedForms(key)));
            }
            let form: ManyForm = toml::from_str(text).map_err(parse_error)?;
            many(path, base, form).map_err(invalid)
        }
        Some(_) => {
            let form: SingleForm = toml::from_str(text).map_err(parse_error)?;
            single(path, base, form).map_err(invalid)
        }
        None => Err(invalid(Invalid::NoTarget)),
    }
}

fn single(path: &Path, base: &Path, form: SingleForm) -> Result<Config, Invalid> {
    let mut scim = form.target;
    resolve_target_paths(&mut scim, base);
    let name = scim.name.clone().unwrap_or_else(|| scim.default_name());
    name::validate(&name)?;
    let mut source = form.source;
    resolve_source_paths(&mut source, base)?;
    scim.validate()?;
    validate_sync(&form.sync)?;
    if let Some(schedule) = &form.schedule {
        schedule.validate()?;
    }
    let state = StateConfig {
        path: base.join(&form.state.path),
    };
    let target = Target {
        name,
        mapping: base.join(&form.mapping),
        scim,
        sync: form.sync,
        state: state.file(),
        database: state.database(),
        schedule: form.schedule.clone(),
    };
    Ok(Config {
        path: path.to_owned(),
        source,
        order: vec![target.name.clone()],
        targets: vec![target],
        rejected: Vec::new(),
        schedule: form.schedule,
        audit: form.audit.map(|a| resolve_audit(a, base)),
        http: form.http,
        form: Form::Single,
    })
}

fn many(path: &Path, base: &Path, form: ManyForm) -> Result<Config, Invalid> {
    let mut source = form.source.clone();
    resolve_source_paths(&mut source, base)?;
    if let Some(key) = OWN_KEYS.iter().find(|k| form.defaults.contains_key(**k)) {
        return Err(Invalid::NotADefault(key));
    }
    let schedule = match &form.schedule {
        Some(table) => Some(typed::<ScheduleConfig>(table.clone(), "[schedule]")?),
        None => None,
    };
    if let Some(schedule) = &schedule {
        schedule.validate()?;
    }
    let inherited = inherited(&form);
    let names = form
        .targets
        .iter()
        .map(target_name)
        .collect::<Result<Vec<_>, _>>()?;
    name::unique(names.iter().map(String::as_str))?;
    let state_dir = base.join(&form.state.dir);
    let order = names.clone();
    let mut targets = Vec::new();
    let mut rejected = Vec::new();
    for (table, name) in form.targets.into_iter().zip(names) {
        let limits_from = limits_from(&table, &form.defaults, &name);
        match target(table, &inherited, &name, base, &state_dir) {
            Ok(mut target) => {
                target.sync.safety.from = limits_from;
                targets.push(target);
            }
            Err(problem) => rejected.push(RejectedTarget {
                name,
                problem: std::sync::Arc::new(problem),
            }),
        }
    }
    no_shared_state(&targets)?;
    Ok(Config {
        path: path.to_owned(),
        source,
        targets,
        rejected,
        order,
        schedule,
        audit: form.audit.map(|a| resolve_audit(a, base)),
        http: form.http,
        form: Form::Many,
    })
}

/// What every `[[target]]` starts from: `[defaults]`, with `[sync]` and `[schedule]` as its
/// `sync` and `schedule` tables.
fn inherited(form: &ManyForm) -> Table {
    let mut base = Table::new();
    base.insert("sync".to_owned(), Value::Table(form.sync.clone()));
    if let Some(schedule) = &form.schedule {
        base.insert("schedule".to_owned(), Value::Table(schedule.clone()));
    }
    merge(&mut base, form.defaults.clone());
    base
}

/// Where a target's deactivation limits were set: its own table, else `[defaults]`, else
/// `[sync.safety]` (the merge order of [`inherited`] and [`target`]).
fn limits_from(own: &Table, defaults: &Table, name: &str) -> LimitsFrom {
    let from = |key: &str| {
        if sets_safety_key(own, key) {
            SafetyTable::Target(name.to_owned())
        } else if sets_safety_key(defaults, key) {
            SafetyTable::Defaults
        } else {
            SafetyTable::Sync
        }
    };
    LimitsFrom {
        max_deactivations: from("max_deactivations"),
        max_deactivation_percent: from("max_deactivation_percent"),
    }
}

/// Whether `table` holds `sync.safety.<key>`.
fn sets_safety_key(table: &Table, key: &str) -> bool {
    table
        .get("sync")
        .and_then(|sync| sync.get("safety"))
        .and_then(|safety| safety.get(key))
        .is_some()
}

/// Lays `over` onto `under`: tables merge key by key, any other value replaces.
fn merge(under: &mut Table, over: Table) {
    for (key, value) in over {
        match (under.get_mut(&key), value) {
            (Some(Value::Table(below)), Value::Table(above)) => merge(below, above),
            (_, value) => {
                under.insert(key, value);
            }
        }
    }
}

fn target_name(table: &Table) -> Result<String, Invalid> {
    match table.get("name") {
        Some(Value::String(name)) => {
            name::validate(name)?;
            Ok(name.clone())
        }
        Some(other) => Err(Invalid::Keys(format!(
            "[[target]] name must be a string, not {}",
            other.type_str()
        ))),
        None => Err(name::NameError::Missing.into()),
    }
}

/// One `[[target]]` with what it inherits merged under it, typed and checked.
fn target(
    own: Table,
    inherited: &Table,
    name: &str,
    base: &Path,
    state_dir: &Path,
) -> Result<Target, Invalid> {
    let mut table = inherited.clone();
    merge(&mut table, own);
    let state = match take(&mut table, "state", Value::as_str)? {
        Some(file) => base.join(file),
        None => state_dir.join(format!("{name}.json")),
    };
    let mapping = take(&mut table, "mapping", Value::as_str)?
        .map(|file| base.join(file))
        .ok_or(Invalid::NoMapping)?;
    let sync = match take(&mut table, "sync", Value::as_table)? {
        Some(sync) => typed::<SyncConfig>(sync, "[sync]")?,
        None => SyncConfig::default(),
    };
    let schedule = take(&mut table, "schedule", Value::as_table)?
        .map(|schedule| typed::<ScheduleConfig>(schedule, "[schedule]"))
        .transpose()?;
    let mut scim = typed::<TargetConfig>(table, "[[target]]")?;
    resolve_target_paths(&mut scim, base);
    scim.validate()?;
    validate_sync(&sync)?;
    if let Some(schedule) = &schedule {
        schedule.validate()?;
    }
    Ok(Target {
        name: name.to_owned(),
        mapping,
        scim,
        sync,
        state,
        database: state_dir.join(crate::config::DATABASE_FILE),
        schedule,
    })
}

/// Removes `key` from `table` and returns its value as `T` (`as_type` says which), or an
/// error naming the key and the type it has instead.
fn take<T: ToOwned + ?Sized>(
    table: &mut Table,
    key: &str,
    as_type: impl Fn(&Value) -> Option<&T>,
) -> Result<Option<T::Owned>, Invalid> {
    let Some(value) = table.remove(key) else {
        return Ok(None);
    };
    match as_type(&value) {
        Some(typed) => Ok(Some(typed.to_owned())),
        None => Err(Invalid::Keys(format!(
            "`{key}` cannot be {}",
            value.type_str()
        ))),
    }
}

/// A merged table as the type it configures; its errors name the section.
fn typed<T: serde::de::DeserializeOwned>(table: Table, section: &str) -> Result<T, Invalid> {
    Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| {
            Invalid::Keys(format!("{section} {}", e.message().trim_end()))
        })
}

fn no_shared_state(targets: &[Target]) -> Result<(), Invalid> {
    for (i, first) in targets.iter().enumerate() {
        if let Some(second) = targets[i + 1..].iter().find(|t| t.state == first.state) {
            return Err(Invalid::SharedState {
                first: first.name.clone(),
                second: second.name.clone(),
                file: first.state.display().to_string(),
            });
        }
    }
    Ok(())
}

fn resolve_source_paths(source: &mut SourceConfig, base: &Path) -> Result<(), Invalid> {
    match source {
        SourceConfig::Json(json) => json.resolve_paths(base),
        SourceConfig::Ldap(ldap) => {
            ldap.resolve_paths(base);
            ldap.validate()?;
        }
    }
    Ok(())
}

fn resolve_target_paths(target: &mut TargetConfig, base: &Path) {
    for file in [&mut target.token_file, &mut target.ca_file]
        .into_iter()
        .flatten()
    {
        *file = base.join(&*file);
    }
}

fn resolve_audit(audit: AuditConfig, base: &Path) -> AuditConfig {
    AuditConfig {
        path: base.join(&audit.path),
    }
}
