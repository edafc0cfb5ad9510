//! The requests a client sent, one line each (method, path, status), for `sync --user`, which
//! shows an admin every request it made for one user. No headers and no bodies are kept, so
//! no token or secret can reach it; query parameters the base URL itself carries (some SaaS
//! put an API key there) are left out too.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use url::Url;

/// One request sent, as it ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Exchange {
    pub method: String,
    /// The URL's path, with the query parameters the request added (`filter`, `startIndex`).
    pub path: String,
    /// The HTTP status; `None` when no answer came (a timeout, a refused connection).
    pub status: Option<u16>,
}

/// A shared, append-only list of the requests sent (every attempt of a retried one).
#[derive(Clone, Debug, Default)]
pub struct RequestLog(Arc<Mutex<Vec<Exchange>>>);

impl RequestLog {
    pub fn entries(&self) -> Vec<Exchange> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub(super) fn note(&self, base: &Url, method: &Method, url: &Url, status: Option<u16>) {
        let own: Vec<(String, String)> = base.query_pairs().into_owned().collect();
        let added: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .filter(|pair| !own.contains(pair))
            .collect();
        let mut path = url.path().to_owned();
        if !added.is_empty() {
            path.push('?');
            path.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(added)
                    .finish(),
            );
        }
        if let Ok(mut log) = self.0.lock() {
            log.push(Exchange {
                method: method.to_string(),
                path,
                status,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_urls_own_query_never_reaches_the_log() {
        let base = Url::parse("https://app.example/scim/v2?api_key=SECRET").unwrap();
        let url = Url::parse(
            "https://app.example/scim/v2/Users?api_key=SECRET&filter=userName+eq+%22a%40x%22",
        )
        .unwrap();
        let log = RequestLog::default();
        log.note(&base, &Method::GET, &url, Some(200));
        log.note(
            &base,
            &Method::POST,
            &Url::parse("https://app.example/scim/v2/Users?api_key=SECRET").unwrap(),
            None,
        );
        assert_eq!(
            log.entries(),
            [
                Exchange {
                    method: "GET".into(),
                    path: "/scim/v2/Users?filter=userName+eq+%22a%40x%22".into(),
                    status: Some(200),
                },
                Exchange {
                    method: "POST".into(),
                    path: "/scim/v2/Users".into(),
                    status: None,
                },
            ]
        );
    }
}
