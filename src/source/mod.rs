//! Directory sources: where users come from. Each source turns its input into
//! [`Record`]s and knows nothing of `.map` files.
//!
//! A source either delivers every user or fails: a truncated read must never look like
//! "these users left", since that would deactivate them.

pub mod json;
pub mod stream;

use crate::config::SourceConfig;
use crate::record::Record;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Json(#[from] json::JsonSourceError),
}

/// Reads every user from the configured source.
pub fn load(config: &SourceConfig) -> Result<Vec<Record>, SourceError> {
    match config {
        SourceConfig::Json(json) => Ok(json::load(&json.path, json.format, &json.id_field)?),
    }
}
