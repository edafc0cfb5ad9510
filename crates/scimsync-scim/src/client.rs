//! The HTTP side of SCIM: list, find, create, patch, replace and delete Users and Groups, and
//! read a target's discovery endpoints.
//!
//! Accepts what real servers do: `200` with a body or `204` without one, `itemsPerPage` below
//! the requested `count`, lower-case list keys. Every request passes the target's
//! [`Throttle`]; failures that pass are retried by the [`RetryPolicy`], but a request that may
//! have taken effect (a POST that timed out or got a 5xx) is never blindly re-sent: it comes
//! back as an error with [`ClientError::maybe_applied`] set, and the caller looks before
//! trying again. An untrusted TLS certificate ([`ClientError::Certificate`]) and a target
//! asking for a longer pause than the policy allows ([`ClientError::Throttled`]) are never
//! retried. Credentials only ever travel in sensitive header values; errors name the method
//! and URL, never a secret, and what the server said is redacted as it is read
//! ([`scimsync_secure::secret::redact`]), in case it echoes a credential.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::header::{
    ACCEPT, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MATCH, RETRY_AFTER, USER_AGENT,
};
use reqwest::{Method, StatusCode};
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::auth::Auth;
use crate::bulk::{BulkOperation, OperationResult};
use crate::throttle::{HeldOff, RetryPolicy, Throttle, parse_retry_after};

mod error;
mod listing;
mod log;

pub use error::{BuildError, ClientError};
pub use listing::{Listing, filter_string};
pub use log::{Exchange, RequestLog};
use scimsync_lang::scim::patch::{OpCase, PatchOperation, body};
use scimsync_lang::scim::path::get_ci;
use scimsync_secure::secret::redact;

const SCIM_JSON: &str = "application/scim+json";

/// The SCIM resource types scimsync writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ResourceType {
    User,
    Group,
}

impl ResourceType {
    /// The endpoint (`Users`, `Groups`).
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceType::User => "Users",
            ResourceType::Group => "Groups",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
        }
    }
}

/// Why an answer's body could not be read.
enum BodyError {
    Transport(reqwest::Error),
    TooLarge(ClientError),
}

impl BodyError {
    fn into_client_error(
        self,
        transport: impl FnOnce(reqwest::Error) -> ClientError,
    ) -> ClientError {
        match self {
            BodyError::Transport(e) => transport(e),
            BodyError::TooLarge(e) => e,
        }
    }
}

/// How a client talks to one target.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub timeout: Duration,
    pub page_size: usize,
    pub concurrency: usize,
    pub requests_per_second: Option<f64>,
    pub retry: RetryPolicy,
    pub op_case: OpCase,
    /// CA certificates that verify the target instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The largest answer read; a larger one fails the request instead of filling memory.
    pub max_response_bytes: usize,
}

/// The largest answer read by default: a page of 1,000 large users is a few MB.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            page_size: 200,
            concurrency: 4,
            requests_per_second: None,
            retry: RetryPolicy::default(),
            op_case: OpCase::Lower,
            ca_file: None,
            max_response_bytes: MAX_RESPONSE_BYTES,
        }
    }
}

/// Counts of what a client sent, for reports and benchmarks.
#[derive(Debug, Default)]
pub struct RequestCounts {
    /// Requests sent, retries included.
    pub requests: AtomicUsize,
    /// Write requests (POST, PUT, PATCH, DELETE) sent, retries included.
    pub writes: AtomicUsize,
    /// Requests sent again after a passing failure.
    pub retries: AtomicUsize,
    /// 429 answers received.
    pub throttled: AtomicUsize,
}

/// A snapshot of [`RequestCounts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequestTotals {
    pub requests: usize,
    pub writes: usize,
    pub retries: usize,
    pub throttled: usize,
}

#[derive(Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    base: Url,
    auth: Arc<Auth>,
    page_size: usize,
    throttle: Throttle,
    retry: RetryPolicy,
    op_case: OpCase,
    counts: Arc<RequestCounts>,
    cancel: CancellationToken,
    max_response_bytes: usize,
    /// Every request sent, when asked for (`sync --user` prints them).
    log: Option<RequestLog>,
    /// `/ServiceProviderConfig` as first read: a run asks it once, whoever asks.
    service_provider_config: Arc<tokio::sync::OnceCell<Option<Json>>>,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// The body; `None` for `204 No Content` or an empty body.
    pub body: Option<Json>,
    /// The `ETag` header (RFC 7644 §3.14): the resource's version after the write, also when
    /// the body is empty.
    pub etag: Option<String>,
}

/// What a request may be retried after.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Sending it twice has the effect of sending it once (GET, PUT, PATCH replace, DELETE).
    Safe,
    /// Only when the server surely did not act on it (refused connection, 429).
    Unsafe,
}

impl ScimClient {
    /// A client for the SCIM base URL `base`.
    pub fn new(base: &str, auth: Auth, options: &ClientOptions) -> Result<ScimClient, BuildError> {
        let base = Url::parse(base).map_err(|source| BuildError::Url {
            base: base.to_owned(),
            source,
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/scim+json, application/json"),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("scimsync/", env!("CARGO_PKG_VERSION"))),
        );
        let mut tls =
            scimsync_secure::tls::client_config(options.ca_file.as_deref()).map_err(|source| {
                BuildError::Tls {
                    base: base.to_string(),
                    source,
                }
            })?;
        // What reqwest offers when it builds the config itself (http2 is on).
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .default_headers(headers)
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(options.concurrency.max(1))
            .build()
            .map_err(BuildError::Http)?;
        Ok(ScimClient {
            http,
            base,
            auth: Arc::new(auth),
            page_size: options.page_size.max(1),
            throttle: Throttle::new(options.concurrency, options.requests_per_second),
            retry: options.retry.clone(),
            op_case: options.op_case,
            max_response_bytes: options.max_response_bytes,
            counts: Arc::new(RequestCounts::default()),
            cancel: CancellationToken::new(),
            log: None,
            service_provider_config: Arc::default(),
        })
    }

    /// Stops waiting (for a slot, a backoff) when `cancel` fires; requests already on the
    /// wire finish.
    pub fn with_cancellation(mut self, cancel: CancellationToken) -> ScimClient {
        self.cancel = cancel;
        self
    }

    /// Notes every request this client sends in `log` (method, path, status).
    pub fn with_request_log(mut self, log: RequestLog) -> ScimClient {
        self.log = Some(log);
        self
    }

    pub fn totals(&self) -> RequestTotals {
        let c = &self.counts;
        RequestTotals {
            requests: c.requests.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
        }
    }

    /// Whether, and why, the target asked for a pause this run cannot wait out; once it has,
    /// nothing more is sent to it.
    pub fn held_off(&self) -> Option<HeldOff> {
        self.throttle.held_off()
    }

    /// How often a request that failed for a passing reason is tried again.
    pub fn max_retries(&self) -> u32 {
        self.retry.max_retries
    }

    /// The wait before trying an uncertain write again (after looking it up).
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.retry.backoff(attempt)
    }

    pub fn base(&self) -> &str {
        self.base.as_str()
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

    /// Sends one request through the throttle, retrying what may be retried.
    async fn send(
        &self,
        method: Method,
        url: Url,
        payload: Option<&Json>,
        replay: Replay,
    ) -> Result<Answer, ClientError> {
        self.send_if_match(method, url, payload, replay, None).await
    }

    /// [`Self::send`], with `If-Match: version` when a version is given (RFC 7644 §3.14): a
    /// target whose resource changed since answers 412 instead of writing.
    async fn send_if_match(
        &self,
        method: Method,
        url: Url,
        payload: Option<&Json>,
        replay: Replay,
        version: Option<&str>,
    ) -> Result<Answer, ClientError> {
        let shown = url.to_string();
        let is_write = method != Method::GET;
        let mut attempt = 0u32;
        let mut refreshed_auth = false;
        loop {
            let permit = tokio::select! {
                permit = self.throttle.acquire() => permit,
                () = self.cancel.cancelled() => return Err(ClientError::Cancelled { method, url: shown }),
            };
            if let Some(held) = self.throttle.held_off() {
                return Err(ClientError::Throttled {
                    method,
                    url: shown,
                    held,
                });
            }
            let mut request = self.http.request(method.clone(), url.clone());
            if let Some(version) = version {
                request = request.header(IF_MATCH, version);
            }
            if let Some(payload) = payload {
                request = request
                    .header(CONTENT_TYPE, SCIM_JSON)
                    .body(serde_json::to_vec(payload).unwrap_or_default());
            }
            let request = self
                .auth
                .apply(&self.http, request)
                .await
                .map_err(|source| ClientError::Auth {
                    url: shown.clone(),
                    source,
                })?;
            self.counts.requests.fetch_add(1, Ordering::Relaxed);
            if is_write {
                self.counts.writes.fetch_add(1, Ordering::Relaxed);
            }
            let (outcome, retry_after) = self.exchange(request, &method, &shown).await;
            drop(permit);
            if let Some(log) = &self.log {
                let status = match &outcome {
                    Ok(answer) => Some(answer.status),
                    Err(error) => error.status(),
                };
                log.note(&self.base, &method, &url, status);
            }
            let wait = match &outcome {
                Err(ClientError::Status { status: 401, .. }) if !refreshed_auth => {
                    refreshed_auth = true;
                    if self.auth.invalidate().await {
                        continue;
                    }
                    None
                }
                Err(ClientError::Status { status: 429, .. }) => {
                    self.counts.throttled.fetch_add(1, Ordering::Relaxed);
                    let wait = self.wait_after(retry_after, attempt, &method, &shown)?;
                    self.throttle.pause(wait).await;
                    Some(wait)
                }
                Err(ClientError::Status {
                    status: 500 | 502 | 503 | 504,
                    ..
                }) if replay == Replay::Safe => {
                    Some(self.wait_after(retry_after, attempt, &method, &shown)?)
                }
                Err(ClientError::Transport { sent: false, .. }) => {
                    Some(self.retry.backoff(attempt))
                }
                Err(ClientError::Transport { sent: true, .. }) if replay == Replay::Safe => {
                    Some(self.retry.backoff(attempt))
                }
                _ => None,
            };
            match wait {
                Some(wait) if attempt < self.retry.max_retries => {
                    if outcome.as_ref().is_err_and(|e| e.status() == Some(429)) {
                        tracing::warn!(%method, url = %shown, attempt, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            "the target is throttling (HTTP 429): waiting {:.1} s before trying again", wait.as_secs_f64());
                    } else {
                        tracing::debug!(%method, url = %shown, attempt, ?wait, "retrying");
                    }
                    attempt += 1;
                    self.counts.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.cancel.cancelled() => return outcome,
                    }
                }
                _ => return outcome,
            }
        }
    }

    /// The wait before trying again after a 429 or a 5xx. A `Retry-After` over the policy's
    /// `max` holds the target off: this request fails with [`ClientError::Throttled`], and so
    /// does every later one without being sent.
    fn wait_after(
        &self,
        retry_after: Option<Duration>,
        attempt: u32,
        method: &Method,
        shown: &str,
    ) -> Result<Duration, ClientError> {
        if let Some(wait) = self.retry.after(retry_after, attempt) {
            return Ok(wait);
        }
        let asked = retry_after.unwrap_or_default();
        let held = self
            .throttle
            .hold_off(HeldOff::new(asked, self.retry.max, chrono::Utc::now()));
        tracing::warn!(%method, url = %shown, wait_seconds = held.wait_seconds(), max_backoff_seconds = held.cap.as_secs(),
            until = %held.until.to_rfc3339(),
            "the target asks to wait {} s, more than max_backoff_seconds ({} s): nothing more is sent to it this run",
            held.wait_seconds(), held.cap.as_secs());
        Err(ClientError::Throttled {
            method: method.clone(),
            url: shown.to_owned(),
            held,
        })
    }

    /// One request and its answer, with the answer's `Retry-After` when it had one.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        method: &Method,
        shown: &str,
    ) -> (Result<Answer, ClientError>, Option<Duration>) {
        let mut retry_after = None;
        let result = self
            .exchange_inner(request, method, shown, &mut retry_after)
            .await;
        (result, retry_after)
    }

    async fn exchange_inner(
        &self,
        request: reqwest::RequestBuilder,
        method: &Method,
        shown: &str,
        retry_after_out: &mut Option<Duration>,
    ) -> Result<Answer, ClientError> {
        let transport = |e: reqwest::Error| match scimsync_secure::tls::certificate_problem(&e) {
            Some(problem) => ClientError::Certificate {
                method: method.clone(),
                url: shown.to_owned(),
                host: e
                    .url()
                    .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
                    .unwrap_or_default(),
                problem,
            },
            None => ClientError::Transport {
                method: method.clone(),
                url: shown.to_owned(),
                reason: root_cause(&e),
                timed_out: e.is_timeout(),
                sent: !e.is_connect(),
            },
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let etag = etag_of(response.headers());
        let bytes = self
            .read_body(response, method, shown)
            .await
            .map_err(|e| e.into_client_error(transport))?;
        if !status.is_success() {
            let error: Option<Json> = serde_json::from_slice(&bytes).ok();
            // Redacted as it is read: a server may echo the credentials it was sent.
            let text = |key: &str| {
                error
                    .as_ref()
                    .and_then(|e| get_ci(e, key))
                    .and_then(|v| match v {
                        Json::String(s) => Some(redact::redact(s).into_owned()),
                        Json::Null => None,
                        other => Some(redact::redact_owned(other.to_string())),
                    })
            };
            // Redacted before it is cut, so a secret cut in two cannot slip through; an empty
            // `detail` says nothing: left out, so no message ends in ": ".
            let mut detail = text("detail").filter(|d| !d.trim().is_empty());
            *retry_after_out = retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            if detail.as_ref().is_some_and(|d| d.len() > 500) {
                detail = detail.map(|d| d.chars().take(500).collect());
            }
            return Err(ClientError::Status {
                method: method.clone(),
                url: shown.to_owned(),
                status: status.as_u16(),
                scim_type: text("scimType"),
                detail,
            });
        }
        if status == StatusCode::NO_CONTENT || bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Answer {
                status: status.as_u16(),
                body: None,
                etag,
            });
        }
        serde_json::from_slice(&bytes)
            .map(|json| Answer {
                status: status.as_u16(),
                body: Some(json),
                etag,
            })
            .map_err(|e| ClientError::Protocol {
                method: method.clone(),
                url: shown.to_owned(),
                reason: redact::redact_owned(format!("the body is not JSON ({e})")),
            })
    }

    /// The answer's body, at most `max_response_bytes` of it: a target that sends more (a
    /// misbehaving or hostile server) fails the request rather than the process's memory.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        method: &Method,
        shown: &str,
    ) -> Result<Vec<u8>, BodyError> {
        let limit = self.max_response_bytes;
        let too_large = || {
            BodyError::TooLarge(ClientError::Protocol {
                method: method.clone(),
                url: shown.to_owned(),
                reason: format!(
                    "the answer is larger than {} MiB; scimsync stops reading it",
                    limit >> 20
                ),
            })
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// One resource; `None` when the target answers 404.
    pub async fn get(&self, kind: ResourceType, id: &str) -> Result<Option<Json>, ClientError> {
        match self
            .send(
                Method::GET,
                self.url(&[kind.endpoint(), id]),
                None,
                Replay::Safe,
            )
            .await
        {
            Ok(found) => Ok(found.body),
            Err(ClientError::Status { status: 404, .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Creates a resource; returns it as created (with its `id`) and the status. Not retried
    /// once it may have reached the server: see [`ClientError::maybe_applied`].
    pub async fn create(
        &self,
        kind: ResourceType,
        resource: &Json,
    ) -> Result<(Json, u16), ClientError> {
        let url = self.url(&[kind.endpoint()]);
        let shown = url.to_string();
        let created = self
            .send(Method::POST, url, Some(resource), Replay::Unsafe)
            .await?;
        match created.body {
            Some(found) if scimsync_lang::scim::resource::id(&found).is_some() => {
                Ok((found, created.status))
            }
            _ => Err(ClientError::Protocol {
                method: Method::POST,
                url: shown,
                reason: format!("the created {} came back without an id", kind.name()),
            }),
        }
    }

    /// Creates a user.
    pub async fn create_user(&self, resource: &Json) -> Result<Json, ClientError> {
        Ok(self.create(ResourceType::User, resource).await?.0)
    }

    /// Applies PATCH operations; returns the updated resource when the server sends one.
    /// `replayable` says whether the operations may be sent twice (member `add`s may not).
    pub async fn patch(
        &self,
        kind: ResourceType,
        id: &str,
        operations: &[PatchOperation],
        replayable: bool,
    ) -> Result<Answer, ClientError> {
        let replay = if replayable {
            Replay::Safe
        } else {
            Replay::Unsafe
        };
        self.send(
            Method::PATCH,
            self.url(&[kind.endpoint(), id]),
            Some(&body(operations, self.op_case)),
            replay,
        )
        .await
    }

    /// Patches a user (attribute `replace`/`add` operations may be sent twice).
    pub async fn patch_user(
        &self,
        id: &str,
        operations: &[PatchOperation],
    ) -> Result<Answer, ClientError> {
        self.patch(ResourceType::User, id, operations, true).await
    }

    /// [`Self::patch_user`] only if the user is still at `version` (`If-Match`), when given.
    pub async fn patch_user_if_match(
        &self,
        id: &str,
        operations: &[PatchOperation],
        version: Option<&str>,
    ) -> Result<Answer, ClientError> {
        self.send_if_match(
            Method::PATCH,
            self.url(&[ResourceType::User.endpoint(), id]),
            Some(&self.patch_body(operations)),
            Replay::Safe,
            version,
        )
        .await
    }

    /// The PatchOp message for `operations`, in the target's op casing.
    pub fn patch_body(&self, operations: &[PatchOperation]) -> Json {
        body(operations, self.op_case)
    }

    /// [`Self::put`] only if the resource is still at `version` (`If-Match`), when given.
    pub async fn put_if_match(
        &self,
        kind: ResourceType,
        id: &str,
        resource: &Json,
        version: Option<&str>,
    ) -> Result<Answer, ClientError> {
        self.send_if_match(
            Method::PUT,
            self.url(&[kind.endpoint(), id]),
            Some(resource),
            Replay::Safe,
            version,
        )
        .await
    }

    /// Sends `operations` in one `POST /Bulk` and returns each one's result in the order
    /// sent (`None` for one the target left unanswered). Retried like a create when any
    /// operation may not be sent twice (only when the target surely did not act on it: see
    /// [`BulkOperation::replayable`]), else like an update.
    pub async fn bulk(
        &self,
        operations: &[&BulkOperation],
    ) -> Result<Vec<Option<OperationResult>>, ClientError> {
        let url = self.url(&["Bulk"]);
        let shown = url.to_string();
        let replay = if operations.iter().any(|op| !op.replayable()) {
            Replay::Unsafe
        } else {
            Replay::Safe
        };
        let payload = crate::bulk::request_body(operations.iter().copied());
        let answer = self.send(Method::POST, url, Some(&payload), replay).await?;
        let results = answer
            .body
            .as_ref()
            .ok_or(crate::bulk::BulkResponseError::NoOperations)
            .and_then(crate::bulk::parse_response)
            .map_err(|e| ClientError::Protocol {
                method: Method::POST,
                url: shown,
                reason: e.to_string(),
            })?;
        Ok(crate::bulk::match_results(operations, results))
    }

    /// A failed bulk operation as the error the same request sent alone would have given.
    pub fn operation_error(
        &self,
        operation: &BulkOperation,
        result: &OperationResult,
    ) -> ClientError {
        let (scim_type, detail) = result.error();
        ClientError::Status {
            method: operation.method.clone(),
            url: self.operation_url(operation),
            status: result.status,
            scim_type,
            detail,
        }
    }

    /// A bulk operation the target did not answer: its outcome is unknown.
    pub fn unanswered(&self, operation: &BulkOperation) -> ClientError {
        ClientError::Transport {
            method: operation.method.clone(),
            url: self.operation_url(operation),
            reason: "the BulkResponse has no result for this operation".into(),
            timed_out: false,
            sent: true,
        }
    }

    fn operation_url(&self, operation: &BulkOperation) -> String {
        let segments: Vec<&str> = operation
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        self.url(&segments).to_string()
    }

    /// Replaces a whole resource (PUT).
    pub async fn put(
        &self,
        kind: ResourceType,
        id: &str,
        resource: &Json,
    ) -> Result<Answer, ClientError> {
        self.send(
            Method::PUT,
            self.url(&[kind.endpoint(), id]),
            Some(resource),
            Replay::Safe,
        )
        .await
    }

    /// Deletes a resource; a 404 (already gone, say after a retried DELETE) is success.
    /// Returns the status.
    pub async fn delete(&self, kind: ResourceType, id: &str) -> Result<u16, ClientError> {
        match self
            .send(
                Method::DELETE,
                self.url(&[kind.endpoint(), id]),
                None,
                Replay::Safe,
            )
            .await
        {
            Ok(answer) => Ok(answer.status),
            Err(ClientError::Status { status: 404, .. }) => Ok(404),
            Err(other) => Err(other),
        }
    }

    /// A discovery endpoint (`ServiceProviderConfig`, `Schemas`, `ResourceTypes`) as JSON.
    /// `/ServiceProviderConfig`, read once for this client and remembered (an answer does not
    /// change within a run); `None` when the target has none or it could not be read.
    pub async fn service_provider_config(&self) -> Option<&Json> {
        self.service_provider_config
            .get_or_init(|| async {
                match self.discovery("ServiceProviderConfig").await {
                    Ok(config) => Some(config),
                    Err(error) => {
                        tracing::info!(%error, "no /ServiceProviderConfig: the target is assumed to offer neither bulk, ETags nor a denial of filtering");
                        None
                    }
                }
            })
            .await
            .as_ref()
    }

    pub async fn discovery(&self, endpoint: &str) -> Result<Json, ClientError> {
        let url = self.url(&[endpoint]);
        let shown = url.to_string();
        self.send(Method::GET, url, None, Replay::Safe)
            .await?
            .body
            .ok_or_else(|| ClientError::Protocol {
                method: Method::GET,
                url: shown,
                reason: "empty answer".into(),
            })
    }
}

/// The innermost cause of an error: "Connection refused" rather than "error sending request";
/// redacted, as the text of a lower layer may quote what the server sent.
/// The `ETag` header of an answer, when it is a plausible version: short, redacted as every
/// text a server sends is (it might echo a credential), and kept as the target wrote it
/// (weak or strong) to be sent back in `If-Match`.
fn etag_of(headers: &HeaderMap) -> Option<String> {
    const LONGEST: usize = 256;
    let value = headers.get(ETAG)?.to_str().ok()?.trim();
    if value.is_empty() || value.len() > LONGEST {
        return None;
    }
    Some(redact::redact(value).into_owned())
}

pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
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
    redact::redact_owned(cause.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimsync_secure::secret::Secret;

    #[test]
    fn endpoint_urls_keep_the_base_query() {
        let client = ScimClient::new(
            "https://h/scim/v2/?aadOptscim062020",
            Auth::bearer(&Secret::new("t")).unwrap(),
            &ClientOptions::default(),
        )
        .unwrap();
        assert_eq!(
            client.url(&["Users", "a b"]).as_str(),
            "https://h/scim/v2/Users/a%20b?aadOptscim062020"
        );
        assert!(!format!("{client:?}").contains("Bearer"));
    }

    #[test]
    fn filter_strings_are_escaped() {
        assert_eq!(filter_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
