//! Every target's compiled mapping. A `.map` file several targets share compiles once; a
//! mapping that does not compile fails its own targets alone. The daemon keeps the plans it
//! last loaded, target by target, when a reload brings a broken one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Job, SyncError, load_plan};
use crate::config::Config;
use scimsync_lang::mapping::Plan;

/// A compiled mapping, or why it did not compile (shared by the targets that use the file).
pub type Compiled = Result<Arc<Plan>, Arc<SyncError>>;

/// The plans of a config's targets, by target name.
#[derive(Clone, Debug, Default)]
pub struct Plans {
    by_target: BTreeMap<String, Compiled>,
}

impl Plans {
    /// Compiles the mapping of every usable target of `config`, each file once.
    pub fn load(config: &Config) -> Plans {
        let mut by_file: BTreeMap<PathBuf, Compiled> = BTreeMap::new();
        let mut by_target = BTreeMap::new();
        for target in &config.targets {
            let compiled = by_file
                .entry(target.mapping.clone())
                .or_insert_with(|| load_plan(&target.mapping).map(Arc::new).map_err(Arc::new))
                .clone();
            by_target.insert(target.name.clone(), compiled);
        }
        Plans { by_target }
    }

    /// The plan of the target named `name`.
    pub fn get(&self, name: &str) -> Option<&Compiled> {
        self.by_target.get(name)
    }

    /// Every target whose mapping failed, with its error.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &Arc<SyncError>)> {
        self.by_target
            .iter()
            .filter_map(|(name, compiled)| compiled.as_ref().err().map(|e| (name.as_str(), e)))
    }

    /// Keeps, for each target whose new mapping failed, the plan it had in `previous`: a
    /// broken `.map` file does not stop a target that was running.
    pub fn keep_working(&mut self, previous: &Plans) {
        for (name, compiled) in &mut self.by_target {
            if compiled.is_err()
                && let Some(Ok(plan)) = previous.get(name)
            {
                *compiled = Ok(plan.clone());
            }
        }
    }

    /// Gives the target named `name` the plan it has in `previous`: the daemon keeps a
    /// target's previous settings and plan together when a reload rejects its new ones.
    pub fn keep(&mut self, name: &str, previous: &Plans) {
        if let Some(compiled) = previous.get(name) {
            self.by_target.insert(name.to_owned(), compiled.clone());
        }
    }

    /// The jobs of `config`'s targets that have a plan.
    pub fn jobs(&self, config: &Config) -> Vec<Job> {
        config
            .targets
            .iter()
            .filter_map(|target| match self.get(&target.name) {
                Some(Ok(plan)) => Some(Job {
                    target: target.clone(),
                    plan: plan.clone(),
                }),
                _ => None,
            })
            .collect()
    }
}
