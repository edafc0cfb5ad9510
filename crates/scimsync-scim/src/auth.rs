//! How requests to a target authenticate: a Bearer token, a raw `Authorization` value sent
//! exactly as given, HTTP Basic, or OAuth 2.0 client credentials (RFC 6749 §4.4) with the
//! access token cached and fetched again shortly before it expires or after a 401.
//!
//! Secrets only ever go into sensitive header values; nothing here formats them into text.
//! Each form a secret is sent in (the Basic credential, every access token fetched) is
//! registered with [`redact`], so an echo of it is caught wherever it comes back.

use std::time::{Duration, Instant};

use reqwest::RequestBuilder;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use tokio::sync::Mutex;

use scimsync_secure::secret::Secret;
use scimsync_secure::secret::redact;

/// Fetch a new access token when the cached one has less than this left.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when the token endpoint does not say (`expires_in` is optional).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the secret contains characters that cannot be sent in an HTTP header")]
    BadHeader,
    #[error("token endpoint {url}: {reason}")]
    TokenEndpoint { url: String, reason: String },
}

/// One target's credentials.
pub enum Auth {
    Bearer(HeaderValue),
    /// The whole `Authorization` value.
    Header(HeaderValue),
    Basic {
        username: String,
        password: Secret,
    },
    OAuth2(OAuthClient),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::Bearer(_) => "Auth::Bearer([redacted])",
            Auth::Header(_) => "Auth::Header([redacted])",
            Auth::Basic { .. } => "Auth::Basic([redacted])",
            Auth::OAuth2(_) => "Auth::OAuth2([redacted])",
        })
    }
}

fn sensitive(value: &str) -> Result<HeaderValue, AuthError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| AuthError::BadHeader)?;
    header.set_sensitive(true);
    Ok(header)
}

impl Auth {
    pub fn bearer(token: &Secret) -> Result<Auth, AuthError> {
        Ok(Auth::Bearer(sensitive(&format!(
            "Bearer {}",
            token.expose()
        ))?))
    }

    pub fn header(value: &Secret) -> Result<Auth, AuthError> {
        // `Scheme credentials`: a server may quote the credentials without the scheme.
        if let Some((_, credentials)) = value.expose().split_once(' ') {
            redact::register(credentials.trim());
        }
        Ok(Auth::Header(sensitive(value.expose())?))
    }

    pub fn basic(username: &str, password: Secret) -> Auth {
        redact::register_basic(username, password.expose());
        Auth::Basic {
            username: username.to_owned(),
            password,
        }
    }

    pub fn oauth2(
        token_url: &str,
        client_id: &str,
        client_secret: Secret,
        scope: Option<String>,
    ) -> Auth {
        redact::register_basic(client_id, client_secret.expose());
        Auth::OAuth2(OAuthClient {
            token_url: token_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            scope,
            cached: Mutex::new(None),
        })
    }

    /// Adds the credentials to a request.
    pub async fn apply(
        &self,
        http: &reqwest::Client,
        request: RequestBuilder,
    ) -> Result<RequestBuilder, AuthError> {
        Ok(match self {
            Auth::Bearer(value) | Auth::Header(value) => request.header(AUTHORIZATION, value),
            Auth::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose()))
            }
            Auth::OAuth2(client) => request.header(AUTHORIZATION, client.token(http).await?),
        })
    }

    /// After a 401: forget a cached access token so the next request fetches a new one.
    /// Returns whether trying again can help.
    pub async fn invalidate(&self) -> bool {
        match self {
            Auth::OAuth2(client) => {
                *client.cached.lock().await = None;
                true
            }
            _ => false,
        }
    }
}

/// OAuth 2.0 client credentials.
pub struct OAuthClient {
    token_url: String,
    client_id: String,
    client_secret: Secret,
    scope: Option<String>,
    cached: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    header: HeaderValue,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl OAuthClient {
    /// The `Authorization` value, from the cache or the token endpoint. The lock is held while
    /// fetching so concurrent requests wait for one token instead of each asking for one.
    async fn token(&self, http: &reqwest::Client) -> Result<HeaderValue, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.header.clone());
        }
        let fail = |reason: String| AuthError::TokenEndpoint {
            url: self.token_url.clone(),
            reason,
        };
        // Built before the request: the serializer is not `Send`, and the daemon runs syncs on
        // spawned tasks, so it must not live across an await.
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = &self.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let response = http
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| fail(crate::client::root_cause(&e)))?;
        let status = response.status();
        if !status.is_success() {
            // The body may echo what was sent; only the status is reported.
            return Err(fail(format!("HTTP {}", status.as_u16())));
        }
        let body: TokenResponse = response
            .json()
            .await
            .map_err(|_| fail("the answer is not a token response".into()))?;
        if body
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(fail("the token is not a Bearer token".into()));
        }
        redact::register_access_token(&body.access_token);
        let lifetime = body
            .expires_in
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        let header = sensitive(&format!("Bearer {}", body.access_token))?;
        *cached = Some(CachedToken {
            header: header.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 2)),
        });
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let auth = Auth::bearer(&Secret::new("hunter2")).unwrap();
        assert_eq!(format!("{auth:?}"), "Auth::Bearer([redacted])");
        let basic = Auth::basic("svc", Secret::new("hunter2"));
        assert!(!format!("{basic:?}").contains("hunter2"));
    }

    #[test]
    fn a_token_with_a_newline_is_refused() {
        assert!(matches!(
            Auth::header(&Secret::new("a\nb")),
            Err(AuthError::BadHeader)
        ));
    }
}
