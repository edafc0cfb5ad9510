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
        let mut first_page: Vec<String> = Vec::new();
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
            let page_len = resources.len();
            let mut ids = Vec::with_capacity(page_len);
            for resource in resources {
                let id = scimsync_lang::scim::resource::id(&resource)
                    .ok_or_else(|| protocol("a listed resource has no id".into()))?
                    .to_owned();
                ids.push(id.clone());
                if seen.insert(id) {
                    resources_all.push(resource);
                }
            }
            if start_index == 1 {
                first_page = ids;
            } else if ids == first_page {
                return Err(protocol(format!(
                    "the page at startIndex={start_index} is the first page again; the server ignores startIndex"
                )));
            }
            // The next page starts after this one (RFC 7644 §3.4.2.4). A collection that
            // changes while it is read shifts its pages: a resource seen twice is kept once,
            // one shifted past is missed, and `missing()` says so.
            start_index += page_len;
            if resources_all.len() >= total || start_index > total {
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

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpListener;

    use super::*;
    use crate::auth::Auth;
    use crate::client::ClientOptions;
    use scimsync_secure::secret::Secret;

    /// A server on 127.0.0.1 that answers `requests` list requests, each with the page
    /// `page_at(startIndex)` and `totalResults` 5.
    fn serve(requests: usize, page_at: fn(usize) -> Vec<&'static str>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/v2", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let start: usize = request_line
                    .split(['?', '&', ' '])
                    .find_map(|p| p.strip_prefix("startIndex="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                let resources: Vec<Json> = page_at(start)
                    .into_iter()
                    .map(|id| serde_json::json!({"id": id, "userName": id}))
                    .collect();
                let body =
                    serde_json::json!({"totalResults": 5, "Resources": resources}).to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }

    fn client(url: &str) -> ScimClient {
        let options = ClientOptions {
            page_size: 2,
            ..ClientOptions::default()
        };
        ScimClient::new(
            url,
            Auth::bearer(&Secret::new("t")).expect("auth"),
            &options,
        )
        .expect("client")
    }

    fn ids(listing: &Listing) -> Vec<&str> {
        listing
            .resources
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect()
    }

    /// A user added ahead of the read position while the collection is read shifts the next
    /// page back by one: the repeated user is kept once, the read goes on to the end, and
    /// the user shifted past is counted as missing (so creates are looked up first).
    #[tokio::test]
    async fn a_collection_that_shifts_while_it_is_read_is_listed_to_the_end() {
        let url = serve(3, |start| match start {
            1 => vec!["a", "b"],
            3 => vec!["b", "c"],
            _ => vec!["d"],
        });
        let listing = client(&url)
            .list_counted(ResourceType::User)
            .await
            .expect("a listing");
        assert_eq!(ids(&listing), ["a", "b", "c", "d"]);
        assert_eq!(listing.missing(), 1);
    }

    #[tokio::test]
    async fn a_server_that_ignores_start_index_is_an_error_not_a_loop() {
        let url = serve(2, |_| vec!["a", "b"]);
        let error = client(&url)
            .list_counted(ResourceType::User)
            .await
            .expect_err("the first page again");
        assert!(
            error.to_string().contains("the server ignores startIndex"),
            "{error}"
        );
    }
}
