//! The HTTP side of SCIM: list, create and patch Users on a service provider.
//!
//! Accepts what real servers do: `200` with a body or `204` without one, `itemsPerPage` below
//! the requested `count`, lower-case list keys. The token is only ever in a sensitive header
//! value; errors name the method and URL, never the token.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde_json::Value as Json;
use url::Url;

use super::patch::{PatchOperation, body};
use super::path::get_ci;
use crate::secret::Secret;

const SCIM_JSON: &str = "application/scim+json";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {url}: {reason}")]
    Transport {
        method: Method,
        url: String,
        reason: String,
        timed_out: bool,
    },
    #[error(
        "{method} {url} failed with HTTP {status}{}",
        describe(scim_type, detail)
    )]
    Status {
        method: Method,
        url: String,
        status: u16,
        scim_type: Option<String>,
        detail: Option<String>,
    },
    #[error("{method} {url}: unexpected response: {reason}")]
    Protocol {
        method: Method,
        url: String,
        reason: String,
    },
}

fn describe(scim_type: &Option<String>, detail: &Option<String>) -> String {
    match (scim_type, detail) {
        (Some(t), Some(d)) => format!(" ({t}): {d}"),
        (None, Some(d)) => format!(": {d}"),
        (Some(t), None) => format!(" ({t})"),
        (None, None) => String::new(),
    }
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub timeout: Duration,
    pub page_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            page_size: 200,
        }
    }
}

#[derive(Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    base: Url,
    page_size: usize,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl ScimClient {
    /// A client for the SCIM base URL `base`, authenticating with `Authorization: Bearer`.
    pub fn new(base: &str, token: &Secret, options: &ClientOptions) -> Result<ScimClient, String> {
        let base = Url::parse(base).map_err(|e| format!("`{base}` is not a URL: {e}"))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| {
                "the token contains characters that cannot be sent in an HTTP header".to_owned()
            })?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/scim+json, application/json"),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("scimsync/", env!("CARGO_PKG_VERSION"))),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(ScimClient {
            http,
            base,
            page_size: options.page_size.max(1),
        })
    }

    /// The URL of an endpoint below the base (`Users`, `Users/{id}`), keeping the base's query.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        payload: Option<&Json>,
    ) -> Result<Option<Json>, ClientError> {
        let shown = url.to_string();
        let mut request = self.http.request(method.clone(), url);
        if let Some(payload) = payload {
            request = request
                .header(CONTENT_TYPE, SCIM_JSON)
                .body(serde_json::to_vec(payload).unwrap_or_default());
        }
        let response = request.send().await.map_err(|e| ClientError::Transport {
            method: method.clone(),
            url: shown.clone(),
            reason: root_cause(&e),
            timed_out: e.is_timeout(),
        })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| ClientError::Transport {
            method: method.clone(),
            url: shown.clone(),
            reason: root_cause(&e),
            timed_out: e.is_timeout(),
        })?;
        if !status.is_success() {
            let error: Option<Json> = serde_json::from_slice(&bytes).ok();
            let text = |key: &str| {
                error
                    .as_ref()
                    .and_then(|e| get_ci(e, key))
                    .and_then(|v| match v {
                        Json::String(s) => Some(s.clone()),
                        Json::Null => None,
                        other => Some(other.to_string()),
                    })
            };
            return Err(ClientError::Status {
                method,
                url: shown,
                status: status.as_u16(),
                scim_type: text("scimType"),
                detail: text("detail"),
            });
        }
        if status == StatusCode::NO_CONTENT || bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ClientError::Protocol {
                method,
                url: shown,
                reason: format!("the body is not JSON ({e})"),
            })
    }

    /// Every User on the target, page by page. Pages follow `totalResults` and the number of
    /// resources actually returned, since servers cap `count`.
    pub async fn list_users(&self) -> Result<Vec<Json>, ClientError> {
        let mut users = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut start_index = 1usize;
        loop {
            let mut url = self.url(&["Users"]);
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
                .send(Method::GET, url, None)
                .await?
                .ok_or_else(|| protocol("empty answer to a list request".into()))?;
            let total = get_ci(&page, "totalResults")
                .and_then(Json::as_u64)
                .ok_or_else(|| protocol("the list response has no totalResults".into()))?
                as usize;
            let resources = match get_ci(&page, "Resources") {
                Some(Json::Array(items)) => items.clone(),
                None | Some(Json::Null) => Vec::new(),
                Some(_) => return Err(protocol("Resources is not an array".into())),
            };
            if resources.is_empty() {
                break;
            }
            let mut new = 0;
            for user in resources {
                let id = super::resource::id(&user)
                    .ok_or_else(|| protocol("a listed user has no id".into()))?
                    .to_owned();
                if seen.insert(id) {
                    new += 1;
                    users.push(user);
                }
            }
            if new == 0 {
                return Err(protocol(format!(
                    "the page at startIndex={start_index} repeats users already listed; the server ignores startIndex"
                )));
            }
            start_index += new;
            if users.len() >= total {
                break;
            }
        }
        Ok(users)
    }

    /// Creates a user; returns the created resource (with its `id`).
    pub async fn create_user(&self, resource: &Json) -> Result<Json, ClientError> {
        let url = self.url(&["Users"]);
        let shown = url.to_string();
        let created = self.send(Method::POST, url, Some(resource)).await?;
        match created {
            Some(user) if super::resource::id(&user).is_some() => Ok(user),
            _ => Err(ClientError::Protocol {
                method: Method::POST,
                url: shown,
                reason: "the created user came back without an id".into(),
            }),
        }
    }

    /// Applies PATCH operations; returns the updated resource when the server sends one.
    pub async fn patch_user(
        &self,
        id: &str,
        operations: &[PatchOperation],
    ) -> Result<Option<Json>, ClientError> {
        self.send(
            Method::PATCH,
            self.url(&["Users", id]),
            Some(&body(operations)),
        )
        .await
    }
}

/// The innermost cause of an error: "Connection refused" rather than "error sending request".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if error
        .downcast_ref::<reqwest::Error>()
        .is_some_and(reqwest::Error::is_timeout)
    {
        return "timed out".into();
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_keep_the_base_query() {
        let client = ScimClient::new(
            "https://h/scim/v2/?aadOptscim062020",
            &Secret::new("t"),
            &ClientOptions::default(),
        )
        .unwrap();
        assert_eq!(
            client.url(&["Users", "a b"]).as_str(),
            "https://h/scim/v2/Users/a%20b?aadOptscim062020"
        );
        assert!(!format!("{client:?}").contains("Bearer"));
    }
}
