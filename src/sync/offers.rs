//! What a target offers for writing, read once per run before the first write: whether it
//! takes `/Bulk` requests (and within which limits) and whether it checks ETags, from its
//! `/ServiceProviderConfig` (RFC 7644 §5), and the resource versions (`meta.version`) the
//! listing showed, which updates then carry as `If-Match`.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::settings::BulkMode;
use scimsync_lang::scim::path::get_ci;
use scimsync_lang::scim::resource::id;
use scimsync_scim::bulk::BulkLimits;
use scimsync_scim::client::ScimClient;

/// How this run may write to its target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Offers {
    /// Writes go in `/Bulk` requests within these limits; `None`: one request per write.
    pub bulk: Option<BulkLimits>,
    /// The target checks `If-Match` (`etag.supported`).
    pub etag: bool,
    /// Each listed user's `meta.version`, by target id.
    versions: HashMap<String, String>,
}

impl Offers {
    /// Reads `/ServiceProviderConfig` when there is something to write (a run with nothing to
    /// write sends no request for it). A target without one, or with one that fails, offers
    /// neither bulk nor ETags: every write goes alone, without `If-Match`.
    pub async fn discover(
        client: &ScimClient,
        bulk: BulkMode,
        writes: usize,
        listed: &[Json],
    ) -> Offers {
        if writes == 0 {
            return Offers::default();
        }
        let Some(config) = client.service_provider_config().await else {
            // Writes go one by one, without If-Match.
            return Offers::default();
        };
        let features = scimsync_scim::discovery::features(config);
        let offers = Offers {
            bulk: match bulk {
                BulkMode::Auto => features.bulk_limits(),
                BulkMode::Off => None,
            },
            etag: features.etag,
            versions: if features.etag {
                versions(listed)
            } else {
                HashMap::new()
            },
        };
        tracing::info!(
            bulk = offers.bulk.is_some(),
            etag = offers.etag,
            "what the target offers for writing"
        );
        offers
    }

    /// The version an update of `id` expects (`If-Match`); `None` without ETag support.
    pub fn version_of(&self, id: &str) -> Option<&str> {
        if !self.etag {
            return None;
        }
        self.versions.get(id).map(String::as_str)
    }
}

/// The `meta.version` of a resource, when it has one.
pub fn version(resource: &Json) -> Option<&str> {
    get_ci(resource, "meta")
        .and_then(|meta| get_ci(meta, "version"))
        .and_then(Json::as_str)
}

/// The version of the user an update answered with: the body's `meta.version`, else the
/// `ETag` header (a 204 carries only that).
pub fn version_of_answer(answer: &scimsync_scim::client::Answer) -> Option<String> {
    answer
        .body
        .as_ref()
        .and_then(version)
        .map(str::to_owned)
        .or_else(|| answer.etag.clone())
}

/// Each user's version, by id.
fn versions(users: &[Json]) -> HashMap<String, String> {
    users
        .iter()
        .filter_map(|u| Some((id(u)?.to_owned(), version(u)?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_are_kept_only_for_a_target_that_checks_them() {
        let listed = vec![
            json!({"id": "1", "meta": {"version": "W/\"a\""}}),
            json!({"id": "2", "meta": {}}),
        ];
        let mut offers = Offers {
            etag: true,
            versions: versions(&listed),
            ..Offers::default()
        };
        assert_eq!(offers.version_of("1"), Some("W/\"a\""));
        assert_eq!(offers.version_of("2"), None);
        offers.etag = false;
        assert_eq!(offers.version_of("1"), None);
    }
}
