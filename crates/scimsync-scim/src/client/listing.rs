//! Reading collections: every resource of a type, page by page, and the resources a filter
//! selects.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::Value as Json;

use super::{ClientError, Replay, ResourceType, ScimClient};
use scimsync_lang::scim::path::get_ci;

/// Every resource of a type, and how many the server said it holds.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub resources: Vec<Json>,
    /// `totalResults` of the last page.
    pub reported: usize,
}

impl Listing {
    /// Resources the server counted but did not list.
    pub fn missing(&self) -> usize {
        self.reported.saturating_sub(self.resources.len())
    }
}

impl ScimClient {
    /// Every resource of a type, page by page. Pages follow `totalResults` and the number of
    /// resources actually returned, since servers cap `count`.
    pub async fn list(&self, kind: ResourceType) -> Result<Vec<Json>, ClientError> {
        Ok(self.list_counted(kind).await?.resources)
    }

    /// [`ScimClient::list`], with the `totalResults` the last page reported: fewer resources
    /// than that means the listing missed some (a page shrank while it was read, or the
    /// server's count and pages disagree).
    pub async fn list_counted(&self, kind: ResourceType) -> Result<Listing, ClientError> {
        let mut resources_all = Vec::new();
        let mut reported;
        let mut seen: HashSet<String> = HashSet::new();
        let mut start_index = 1usize;
        loop {
            let mut url = self.url(&[kind.endpoint()]);
            url.query_pairs_mut()
                .append_pair("startIndex", &start_index.to_string())
                .append_pair("count", &self.page_size.to_string());
            let shown = url.to_string();
            let protocol = |reason: String| ClientError::Protocol {
                method: Method::GET,
                url: shown.clone(),
                reason,
            };
            let page = self
                .send(Method::GET, url, None, Replay::Safe)
                .await?
                .body
                .ok_or_else(|| protocol("empty answer to a list request".into()))?;
            let (total, resources) = list_page(page).map_err(|e| protocol(e.to_string()))?;
            reported = total;
            if resources.is_empty() {
                break;
            }
            let mut new = 0;
            for resource in resources {
                let id = scimsync_lang::scim::resource::id(&resource)
                    .ok_or_else(|| protocol("a listed resource has no id".into()))?
                    .to_owned();
                if seen.insert(id) {
                    new += 1;
                    resources_all.push(resource);
                }
            }
            if new == 0 {
                return Err(protocol(format!(
                    "the page at startIndex={start_index} repeats resources already listed; the server ignores startIndex"
                )));
            }
            start_index += new;
            if resources_all.len() >= total {
                break;
            }
        }
        Ok(Listing {
            resources: resources_all,
            reported,
        })
    }

    /// Every User on the target.
    pub async fn list_users(&self) -> Result<Vec<Json>, ClientError> {
        self.list(ResourceType::User).await
    }

    /// The resources whose `attribute` equals `value` (`filter=attribute eq "value"`).
    pub async fn find(
        &self,
        kind: ResourceType,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<Json>, ClientError> {
        let mut url = self.url(&[kind.endpoint()]);
        url.query_pairs_mut().append_pair(
            "filter",
            &format!("{attribute} eq {}", filter_string(value)),
        );
        let shown = url.to_string();
        let page = self
            .send(Method::GET, url, None, Replay::Safe)
            .await?
            .body
            .ok_or_else(|| ClientError::Protocol {
                method: Method::GET,
                url: shown.clone(),
                reason: "empty answer to a filter request".into(),
            })?;
        list_page(page)
            .map(|(_, resources)| resources)
            .map_err(|e| ClientError::Protocol {
                method: Method::GET,
                url: shown,
                reason: e.to_string(),
            })
    }
}

/// Why a ListResponse could not be read.
#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error("the list response has no totalResults")]
    NoTotal,
    #[error("Resources is not an array")]
    ResourcesNotArray,
}

/// `totalResults` and `Resources` of a ListResponse (keys matched case-insensitively); the
/// resources are moved out, not copied.
fn list_page(mut page: Json) -> Result<(usize, Vec<Json>), PageError> {
    let total = get_ci(&page, "totalResults")
        .and_then(Json::as_u64)
        .ok_or(PageError::NoTotal)? as usize;
    let key = page.as_object().and_then(|o| {
        o.keys()
            .find(|k| k.eq_ignore_ascii_case("Resources"))
            .cloned()
    });
    let resources = match key.and_then(|k| page.as_object_mut()?.remove(&k)) {
        Some(Json::Array(items)) => items,
        None | Some(Json::Null) => Vec::new(),
        Some(_) => return Err(PageError::ResourcesNotArray),
    };
    Ok((total, resources))
}

/// A string literal in a SCIM filter: quoted, with `"` and `\` escaped (RFC 7644 §3.4.2.2
/// uses JSON string syntax).
pub fn filter_string(value: &str) -> String {
    Json::String(value.to_owned()).to_string()
}
