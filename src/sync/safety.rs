//! The deactivation threshold: a run that would deactivate or delete more users than the
//! admin allows stops before its first write, and says how to allow it. An empty source never
//! deactivates anyone, whatever the threshold.

use serde::Serialize;

use crate::config::SafetyConfig;

/// A run that would remove too many users.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// Deactivations and deletions the run would make.
    pub removals: usize,
    /// Users scimsync manages before the run.
    pub managed: usize,
    pub max_deactivations: usize,
    pub max_deactivation_percent: f64,
    /// Whether the source delivered no users at all (then nothing allows it).
    pub empty_source: bool,
}

impl Violation {
    pub fn message(&self) -> String {
        if self.empty_source {
            return format!(
                "the source has no users, which would deactivate {} managed user(s); check the export or directory",
                self.removals
            );
        }
        let percent = percent(self.removals, self.managed);
        format!(
            "this run would deactivate or delete {} of {} managed users ({percent:.0}%), above the threshold ({} users or {}%); nothing was written. If this is intended, run once with --allow-mass-deactivation, or raise max_deactivations / max_deactivation_percent in [sync.safety]",
            self.removals, self.managed, self.max_deactivations, self.max_deactivation_percent
        )
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Checks a run's removals against the threshold.
pub fn check(
    config: &SafetyConfig,
    removals: usize,
    managed: usize,
    source_count: usize,
) -> Option<Violation> {
    let violation = |empty_source| Violation {
        removals,
        managed,
        max_deactivations: config.max_deactivations,
        max_deactivation_percent: config.max_deactivation_percent,
        empty_source,
    };
    if removals == 0 {
        return None;
    }
    if source_count == 0 {
        return Some(violation(true));
    }
    let over = removals > config.always_allowed
        && (removals > config.max_deactivations
            || percent(removals, managed) > config.max_deactivation_percent);
    over.then(|| violation(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let config = SafetyConfig::default(); // 50 users, 20 %, 5 always allowed
        assert_eq!(
            check(&config, 5, 10, 10),
            None,
            "a handful is always allowed"
        );
        assert!(check(&config, 6, 10, 10).is_some(), "60 % is too many");
        assert_eq!(check(&config, 6, 100, 100), None);
        assert!(
            check(&config, 51, 1000, 1000).is_some(),
            "above the absolute cap"
        );
        let empty = check(&config, 1, 10, 0).unwrap();
        assert!(empty.empty_source && empty.message().contains("no users"));
        assert!(
            check(&config, 30, 100, 100)
                .unwrap()
                .message()
                .contains("--allow-mass-deactivation")
        );
    }
}
