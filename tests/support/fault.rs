//! An in-process SCIM server for fault injection only: a small in-memory Users/Groups store
//! behind a hand-rolled HTTP/1.1 loop, so a test can script exactly what goes wrong (429 with
//! or without `Retry-After`, 5xx, a reset before or after the write took effect, a reply slower
//! than the client's timeout, 409, a permanent 4xx for one user), a rate limit, and error
//! answers that echo the request's headers, credentials included. Every request is logged with
//! its status. Real-server behaviour is tested against scim2-server and
//! SCIMMY; this exists for what they cannot be made to do.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// What goes wrong with a request that matches a [`FaultRule`].
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status (and `Retry-After` when given) without acting.
    Status(u16, Option<String>),
    /// Act, then answer with this status (a 5xx after the write took effect; a 409 for a user
    /// that appeared meanwhile).
    StatusAfterApply(u16),
    /// Close the connection without acting.
    Reset,
    /// Act, then wait this long before answering (longer than the client's timeout).
    SlowAfterApply(Duration),
    /// Wait this long, then act and answer: a lookup made meanwhile finds nothing yet, as
    /// with a slow create on a real server.
    SlowThenApply(Duration),
    /// A permanent refusal with a SCIM error detail.
    Refuse(u16, String),
}

/// Which requests a fault hits, and how many times.
#[derive(Clone, Debug)]
pub struct FaultRule {
    pub method: &'static str,
    /// A substring of the path (`/Users`, an id).
    pub path: String,
    /// A substring of the body, to hit one user.
    pub body: Option<String>,
    pub fault: Fault,
    /// How many matching requests it hits; `usize::MAX` for every one.
    pub times: usize,
}

/// How a server that echoes the request's headers in its 401, 403 and 500 answers (a debug
/// gateway, a WAF, some SCIM servers) writes them: `echo: authorization: … | host: …`, the
/// `Authorization` header first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Echo {
    /// A SCIM error with the echo as `detail` and the `Authorization` value as `scimType`.
    ScimError,
    /// An HTML block page (`text/html`) with the echo in its text.
    HtmlPage,
}

/// Behaviours of strict or partial real targets, switched on together or one by one (see
/// [`FaultServer::strict`]). Each is something a SaaS target was seen to do.
#[derive(Clone, Debug, Default)]
pub struct Strict {
    /// Answers at most this many resources per page (`count=200` gets 100), with the true
    /// `totalResults`.
    pub page_cap: Option<usize>,
    /// Filters other than one `attr eq "value"` are refused with 400 `invalidFilter`.
    pub single_eq_filter: bool,
    /// Filters on these attributes (lower case, e.g. `externalid`, `emails`) return nothing.
    pub blind_filters: Vec<&'static str>,
    /// PATCH operations with a filtered path (`emails[type eq "work"].value`,
    /// `members[value eq "…"]`) get 501 with an empty SCIM `detail`.
    pub no_filtered_patch: bool,
    /// Top-level attributes the target does not store: accepted and dropped on every write.
    pub drops: Vec<&'static str>,
    /// A deleted user's userName stays reserved: a POST with it gets 409.
    pub reserve_deleted_names: bool,
    /// `emails[].value` is stored lower-cased.
    pub lowercase_emails: bool,
    /// `POST /Groups` ignores `members` (the group is created empty).
    pub group_post_ignores_members: bool,
    /// What `GET /Schemas` answers (404 when `None`).
    pub schemas: Option<Json>,
    /// What `GET /ServiceProviderConfig` answers (404 when `None`).
    pub service_provider_config: Option<Json>,
    /// Filters are ignored: a filtered GET answers with every user (a target that does not
    /// implement filtering but does not say so).
    pub filter_ignored: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub authorization: Option<String>,
    pub body: String,
    /// The `If-Match` header (or a bulk operation's `version`).
    pub if_match: Option<String>,
}

#[derive(Default)]
struct Store {
    users: BTreeMap<String, Json>,
    groups: BTreeMap<String, Json>,
    next: u64,
    rules: Vec<FaultRule>,
    log: Vec<Logged>,
    /// Requests received, by method, as they arrive (the log has them once answered).
    received: BTreeMap<String, usize>,
    /// Requests per second the server accepts, as a token bucket of that many tokens
    /// refilled at that rate (the usual shape of API rate limits); a request that finds the
    /// bucket empty gets 429 with `Retry-After: 1`.
    rate_limit: Option<u32>,
    tokens: f64,
    refilled: Option<Instant>,
    /// OAuth: the access token the token endpoint hands out, and the one accepted.
    issued_tokens: u32,
    accepted_token: Option<String>,
    echo: Option<Echo>,
    /// Whether a POST with a userName (displayName) already in use is refused with 409;
    /// several real SaaS targets do not check, and keep both.
    allow_duplicates: bool,
    /// User ids the listing leaves out (an incomplete listing: eventual consistency, a page
    /// that shrank while paging); GET by id and filters still find them.
    unlisted: std::collections::BTreeSet<String>,
    /// Whether `totalResults` still counts the unlisted users, as a server whose pages
    /// shifted under a deletion reports them.
    count_unlisted: bool,
    /// The strict behaviours switched on.
    strict: Strict,
    /// userNames of deleted users (lower case), for [`Strict::reserve_deleted_names`].
    reserved: std::collections::BTreeSet<String>,
    /// What `GET /ServiceProviderConfig` answers (404 when `None`).
    service_provider_config: Option<Json>,
    /// `POST /Bulk` is served, within these limits.
    bulk: Option<BulkServer>,
    /// Every bulk operation as the server settled it, in the order handled.
    bulk_log: Vec<Logged>,
    /// Resources carry `meta.version`, bumped on every write, and an `If-Match` (or a bulk
    /// operation's `version`) that is not the current one gets 412.
    etag: bool,
    /// Changes made "by someone else" just before the next write to a user arrives, one per
    /// write, in order: (id, attribute, value).
    touches: Vec<(String, String, Json)>,
}

/// How the server's `/Bulk` behaves.
#[derive(Clone, Debug, Default)]
pub struct BulkServer {
    pub max_operations: usize,
    pub max_payload_size: usize,
    /// Statuses as JSON numbers rather than the RFC's strings.
    pub numeric_status: bool,
    /// Results in the reverse order of the operations.
    pub reverse_order: bool,
    /// `bulkId:<id>` in an operation's path and values is replaced by the id of the resource
    /// created under that bulkId earlier in the request (as scim2-server does); without it, a
    /// path reference finds nothing (404, as SCIMMY answers) and a value is kept as sent.
    pub resolve_references: bool,
}

pub struct FaultServer {
    pub url: String,
    store: Arc<Mutex<Store>>,
    task: tokio::task::JoinHandle<()>,
    /// TCP connections accepted (a refused TLS handshake logs no request, but counts here).
    connections: Arc<AtomicUsize>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultServer {
    pub async fn start() -> FaultServer {
        FaultServer::listen(None).await
    }

    /// The same server behind TLS, with `chain` (PEM certificates, the server's first) and its
    /// PEM `key`; the URL is `https://127.0.0.1:PORT/v2`.
    pub async fn start_tls(chain: &str, key: &str) -> FaultServer {
        use rustls_pki_types::pem::PemObject;
        let certs = rustls_pki_types::CertificateDer::pem_slice_iter(chain.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("PEM certificates");
        let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("PEM key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("certificate and key");
        FaultServer::listen(Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn listen(tls: Option<TlsAcceptor>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let store = Arc::new(Mutex::new(Store::default()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (shared, accepted) = (store.clone(), connections.clone());
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (store, tls) = (shared.clone(), tls.clone());
                tokio::spawn(async move {
                    let _ = match tls {
                        None => serve(stream, store).await,
                        Some(tls) => match tls.accept(stream).await {
                            Ok(stream) => serve(stream, store).await,
                            Err(_) => Ok(()),
                        },
                    };
                });
            }
        });
        FaultServer {
            url: format!("{scheme}://127.0.0.1:{port}/v2"),
            store,
            task,
            connections,
        }
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn fault(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&str>,
        fault: Fault,
        times: usize,
    ) {
        self.store.lock().unwrap().rules.push(FaultRule {
            method,
            path: path.to_owned(),
            body: body.map(str::to_owned),
            fault,
            times,
        });
    }

    pub fn clear_faults(&self) {
        self.store.lock().unwrap().rules.clear();
    }

    pub fn rate_limit(&self, per_second: u32) {
        let mut store = self.store.lock().unwrap();
        store.rate_limit = Some(per_second);
        store.tokens = f64::from(per_second);
        store.refilled = Some(Instant::now());
    }

    /// How many `method` requests arrived so far, answered or not.
    pub fn received(&self, method: &str) -> usize {
        self.store
            .lock()
            .unwrap()
            .received
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// Stops refusing duplicate userNames (and group displayNames) on POST.
    pub fn allow_duplicates(&self) {
        self.store.lock().unwrap().allow_duplicates = true;
    }

    /// Leaves these user ids out of every listing (not out of GET by id or filters).
    pub fn leave_out_of_listing(&self, ids: &[String]) {
        self.store
            .lock()
            .unwrap()
            .unlisted
            .extend(ids.iter().cloned());
    }

    /// Leaves these user ids out of every listing but counts them in `totalResults`.
    pub fn count_but_leave_out_of_listing(&self, ids: &[String]) {
        self.leave_out_of_listing(ids);
        self.store.lock().unwrap().count_unlisted = true;
    }

    /// Switches on the strict target behaviours of `strict` (replacing earlier ones).
    pub fn strict(&self, strict: Strict) {
        self.store.lock().unwrap().strict = strict;
    }

    /// Makes the server accept only OAuth tokens from its own token endpoint.
    pub fn require_oauth(&self) {
        self.store.lock().unwrap().accepted_token = Some(String::new());
    }

    /// Makes every 401, 403 and 500 answer echo the request's headers.
    pub fn echo_headers(&self, echo: Echo) {
        self.store.lock().unwrap().echo = Some(echo);
    }

    /// Every access token the token endpoint has handed out, in order.
    pub fn issued_tokens(&self) -> Vec<String> {
        let issued = self.store.lock().unwrap().issued_tokens;
        (1..=issued).map(issued_token).collect()
    }

    pub fn log(&self) -> Vec<Logged> {
        self.store.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.store.lock().unwrap().log.clear();
    }

    /// `METHOD STATUS` of every logged request, in order.
    pub fn trace(&self) -> Vec<String> {
        self.log()
            .iter()
            .map(|l| {
                format!(
                    "{} {} {}",
                    l.method,
                    l.path.split('?').next().unwrap_or(""),
                    l.status
                )
            })
            .collect()
    }

    pub fn writes(&self) -> usize {
        self.log().iter().filter(|l| l.method != "GET").count()
    }

    pub fn users(&self) -> Vec<Json> {
        let mut users: Vec<Json> = self.store.lock().unwrap().users.values().cloned().collect();
        users.sort_by_key(|u| u["userName"].as_str().unwrap_or_default().to_owned());
        users
    }

    pub fn groups(&self) -> Vec<Json> {
        self.store
            .lock()
            .unwrap()
            .groups
            .values()
            .cloned()
            .collect()
    }

    /// Advertises bulk in `/ServiceProviderConfig` and serves `POST /Bulk` within `bulk`'s
    /// limits (413 beyond them).
    pub fn offer_bulk(&self, bulk: BulkServer) {
        let mut store = self.store.lock().unwrap();
        store.bulk = Some(bulk);
        store.service_provider_config = Some(service_provider_config(&store));
    }

    /// Advertises ETags and checks `If-Match` on every write.
    pub fn offer_etag(&self) {
        let mut store = self.store.lock().unwrap();
        store.etag = true;
        store.service_provider_config = Some(service_provider_config(&store));
    }

    /// Every bulk operation as settled: method, path, status, the operation's JSON.
    pub fn bulk_log(&self) -> Vec<Logged> {
        self.store.lock().unwrap().bulk_log.clone()
    }

    /// The bodies of every `POST /Bulk` received, parsed, in order.
    pub fn bulk_requests(&self) -> Vec<Json> {
        self.log()
            .iter()
            .filter(|l| l.method == "POST" && l.path.ends_with("/Bulk"))
            .map(|l| serde_json::from_str(&l.body).expect("bulk body is JSON"))
            .collect()
    }

    /// Changes a user's attribute as someone else would (a new version).
    pub fn touch_user(&self, id: &str, attribute: &str, value: Json) {
        let mut store = self.store.lock().unwrap();
        let etag = store.etag;
        let user = store.users.get_mut(id).expect("user");
        user[attribute] = value;
        if etag {
            bump_version(user);
        }
    }

    /// Changes `attribute` of user `id` just before the next write to it is handled, as an
    /// admin editing the user in the app at that moment would (a new version). Queued: each
    /// call hits one later write.
    pub fn touch_before_next_write(&self, id: &str, attribute: &str, value: Json) {
        self.store
            .lock()
            .unwrap()
            .touches
            .push((id.to_owned(), attribute.to_owned(), value));
    }

    /// Deletes a user directly, as an admin in the app's console would.
    pub fn remove_user(&self, id: &str) {
        self.store.lock().unwrap().users.remove(id);
    }

    /// Changes a user directly, as an admin in the app's console would.
    pub fn edit_user(&self, id: &str, attribute: &str, value: Json) {
        let mut store = self.store.lock().unwrap();
        if let Some(user) = store.users.get_mut(id) {
            user[attribute] = value;
        }
    }

    /// Adds a user directly, as another tool would.
    pub fn seed_user(&self, body: Json) -> String {
        let mut store = self.store.lock().unwrap();
        insert(&mut store, "Users", body)
    }
}

fn insert(store: &mut Store, kind: &str, mut body: Json) -> String {
    store.next += 1;
    let id = format!("{}{:04}", &kind[..1].to_lowercase(), store.next);
    body["id"] = json!(id);
    body["meta"] = json!({"resourceType": &kind[..kind.len() - 1]});
    if store.etag {
        body["meta"]["version"] = json!("W/\"1\"");
    }
    if kind == "Users" {
        if body.get("active").is_none() {
            body["active"] = json!(true);
        }
        store.users.insert(id.clone(), body);
    } else {
        store.groups.insert(id.clone(), body);
    }
    id
}

struct Request {
    method: String,
    path: String,
    authorization: Option<String>,
    /// Every header line but the `Authorization` one, as received.
    other_headers: Vec<String>,
    body: Vec<u8>,
    if_match: Option<String>,
}

async fn read_request(
    stream: &mut (impl AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
) -> Option<Request> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            let mut lines = head.split("\r\n");
            let mut first = lines.next()?.split(' ');
            let method = first.next()?.to_owned();
            let path = first.next()?.to_owned();
            let mut length = 0;
            let mut authorization = None;
            let mut other_headers = Vec::new();
            for line in lines {
                let (name, value) = line.split_once(':')?;
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok()?;
                }
                if name.eq_ignore_ascii_case("authorization") {
                    authorization = Some(value.trim().to_owned());
                } else {
                    other_headers.push(line.to_owned());
                }
            }
            while buffer.len() < end + 4 + length {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let body = buffer[end + 4..end + 4 + length].to_vec();
            buffer.drain(..end + 4 + length);
            let if_match = other_headers.iter().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("if-match")
                    .then(|| value.trim().to_owned())
            });
            return Some(Request {
                method,
                path,
                authorization,
                other_headers,
                body,
                if_match,
            });
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

enum Reply {
    Answer(u16, Vec<(String, String)>, Option<Json>),
    Reset,
    Slow(Duration, u16, Option<Json>),
    /// A body that is not SCIM JSON, with its content type.
    Text(u16, &'static str, String),
    /// Act on the request only after this long.
    Later(Duration),
}

/// `reply`, with its body replaced by an echo of the request's headers when the server is set
/// to echo them and the status is 401, 403 or 500.
fn echoed(store: &Arc<Mutex<Store>>, request: &Request, reply: Reply) -> Reply {
    let Some(echo) = store.lock().unwrap().echo else {
        return reply;
    };
    let status = match &reply {
        Reply::Answer(status @ (401 | 403 | 500), ..) => *status,
        _ => return reply,
    };
    let authorization = request.authorization.clone().unwrap_or_default();
    let text = std::iter::once(format!("authorization: {authorization}"))
        .chain(request.other_headers.iter().cloned())
        .collect::<Vec<_>>()
        .join(" | ");
    match echo {
        Echo::ScimError => Reply::Answer(
            status,
            Vec::new(),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": status.to_string(), "scimType": authorization, "detail": format!("echo: {text}")}),
            ),
        ),
        Echo::HtmlPage => Reply::Text(
            status,
            "text/html",
            format!("<html><body><h1>Request blocked</h1><pre>echo: {text}</pre></body></html>"),
        ),
    }
}

async fn serve(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    store: Arc<Mutex<Store>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    while let Some(request) = read_request(&mut stream, &mut buffer).await {
        let mut reply = handle(&store, &request);
        if let Reply::Later(delay) = reply {
            tokio::time::sleep(delay).await;
            reply = apply_and_log(&store, &request);
        }
        let reply = echoed(&store, &request, reply);
        let json = |body: Option<Json>| body.map(|b| b.to_string()).unwrap_or_default();
        let scim = "application/scim+json";
        let (status, headers, body, content_type, delay) = match reply {
            Reply::Reset | Reply::Later(_) => return Ok(()),
            Reply::Answer(s, h, b) => (s, h, json(b), scim, None),
            Reply::Slow(d, s, b) => (s, Vec::new(), json(b), scim, Some(d)),
            Reply::Text(s, content_type, text) => (s, Vec::new(), text, content_type, None),
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let reason = match status {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            _ => "Status",
        };
        let mut head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        // A TLS stream may hold the answer's last record until flushed.
        stream.flush().await?;
    }
    Ok(())
}

fn issued_token(n: u32) -> String {
    format!("issued-{n}")
}

fn error(status: u16, detail: &str) -> Option<Json> {
    Some(
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.to_string(), "detail": detail}),
    )
}

fn handle(store: &Arc<Mutex<Store>>, request: &Request) -> Reply {
    let mut store = store.lock().unwrap();
    *store.received.entry(request.method.clone()).or_default() += 1;
    let body_text = String::from_utf8_lossy(&request.body).to_string();
    let log = |store: &mut Store, status: u16| {
        store.log.push(Logged {
            method: request.method.clone(),
            path: request.path.clone(),
            status,
            authorization: request.authorization.clone(),
            body: body_text.clone(),
            if_match: request.if_match.clone(),
        });
    };
    if request.path.starts_with("/oauth/token") {
        store.issued_tokens += 1;
        let token = issued_token(store.issued_tokens);
        store.accepted_token = Some(token.clone());
        log(&mut store, 200);
        return Reply::Answer(
            200,
            Vec::new(),
            Some(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600})),
        );
    }
    if let Some(accepted) = store.accepted_token.clone()
        && request.authorization.as_deref() != Some(&format!("Bearer {accepted}"))
    {
        log(&mut store, 401);
        return Reply::Answer(401, Vec::new(), error(401, "bad token"));
    }
    if let Some(limit) = store.rate_limit {
        let now = Instant::now();
        let elapsed = store
            .refilled
            .map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        store.tokens = (store.tokens + elapsed * f64::from(limit)).min(f64::from(limit));
        store.refilled = Some(now);
        if store.tokens < 1.0 {
            log(&mut store, 429);
            return Reply::Answer(
                429,
                vec![("Retry-After".into(), "1".into())],
                error(429, "slow down"),
            );
        }
        store.tokens -= 1.0;
    }
    let fault = take_fault(&mut store, &request.method, &request.path, &body_text);
    match fault {
        Some(Fault::Status(status, retry_after)) => {
            log(&mut store, status);
            let headers = retry_after
                .map(|r| vec![("Retry-After".to_owned(), r)])
                .unwrap_or_default();
            return Reply::Answer(status, headers, error(status, "injected"));
        }
        Some(Fault::Refuse(status, detail)) => {
            log(&mut store, status);
            return Reply::Answer(status, Vec::new(), error(status, &detail));
        }
        Some(Fault::Reset) => {
            log(&mut store, 0);
            return Reply::Reset;
        }
        Some(Fault::SlowThenApply(delay)) => return Reply::Later(delay),
        _ => {}
    }
    let (status, body) = scim(&mut store, request);
    match fault {
        Some(Fault::StatusAfterApply(status)) => {
            log(&mut store, status);
            Reply::Answer(status, Vec::new(), error(status, "injected after apply"))
        }
        Some(Fault::SlowAfterApply(delay)) => {
            log(&mut store, status);
            Reply::Slow(delay, status, body)
        }
        _ => {
            log(&mut store, status);
            Reply::Answer(status, Vec::new(), body)
        }
    }
}

/// The fault of the first rule that matches (and has hits left), counted.
fn take_fault(store: &mut Store, method: &str, path: &str, body: &str) -> Option<Fault> {
    let matched = store.rules.iter().position(|rule| {
        rule.times > 0
            && rule.method == method
            && path.contains(&rule.path)
            && rule.body.as_ref().is_none_or(|b| body.contains(b))
    })?;
    store.rules[matched].times -= 1;
    Some(store.rules[matched].fault.clone())
}

/// `/ServiceProviderConfig` as the server's switches make it.
fn service_provider_config(store: &Store) -> Json {
    let bulk = match &store.bulk {
        Some(b) => {
            json!({"supported": true, "maxOperations": b.max_operations, "maxPayloadSize": b.max_payload_size})
        }
        None => json!({"supported": false}),
    };
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true}, "bulk": bulk, "filter": {"supported": true, "maxResults": 200},
        "changePassword": {"supported": false}, "sort": {"supported": false},
        "etag": {"supported": store.etag}, "authenticationSchemes": []})
}

/// `W/"n"` → `W/"n+1"`.
fn bump_version(resource: &mut Json) {
    let n: u64 = resource["meta"]["version"]
        .as_str()
        .and_then(|v| v.trim_start_matches("W/").trim_matches('"').parse().ok())
        .unwrap_or(0);
    if !resource["meta"].is_object() {
        resource["meta"] = json!({});
    }
    resource["meta"]["version"] = json!(format!("W/\"{}\"", n + 1));
}

/// `POST /Bulk`: each operation handled as the same request alone would be (fault rules
/// included, matched on the operation's method, path and data), answered in one
/// BulkResponse; 413 for a request over the advertised limits.
fn bulk(store: &mut Store, request: &Request) -> (u16, Option<Json>) {
    let config = store.bulk.clone().expect("bulk is offered");
    let body: Json = serde_json::from_slice(&request.body).unwrap_or(Json::Null);
    let operations = body["Operations"].as_array().cloned().unwrap_or_default();
    if operations.len() > config.max_operations || request.body.len() > config.max_payload_size {
        return (413, error(413, "over maxOperations or maxPayloadSize"));
    }
    let mut results = Vec::new();
    // bulkId -> the id created under it, in this request.
    let mut created: BTreeMap<String, String> = BTreeMap::new();
    for op in operations {
        let method = op["method"].as_str().unwrap_or_default().to_owned();
        let mut path = op["path"].as_str().unwrap_or_default().to_owned();
        let mut data = op.get("data").map(Json::to_string).unwrap_or_default();
        if config.resolve_references {
            for (bulk_id, id) in &created {
                let reference = format!("bulkId:{bulk_id}");
                path = path.replace(&reference, id);
                data = data.replace(&format!("\"{reference}\""), &format!("\"{id}\""));
            }
        }
        let alone = Request {
            method: method.clone(),
            path: format!("/v2{path}"),
            authorization: None,
            other_headers: Vec::new(),
            body: data.clone().into_bytes(),
            if_match: op["version"].as_str().map(str::to_owned),
        };
        let (status, response) = match take_fault(store, &method, &alone.path, &data) {
            Some(Fault::Status(status, _)) => (status, error(status, "injected")),
            Some(Fault::Refuse(status, detail)) => (status, error(status, &detail)),
            Some(Fault::StatusAfterApply(status)) => {
                scim(store, &alone);
                (status, error(status, "injected after apply"))
            }
            _ => scim(store, &alone),
        };
        let mut result = json!({"method": method});
        result["status"] = if config.numeric_status {
            json!(status)
        } else {
            json!(status.to_string())
        };
        if let Some(bulk_id) = op.get("bulkId") {
            result["bulkId"] = bulk_id.clone();
        }
        let response = response.unwrap_or(Json::Null);
        if let (Some(bulk_id), Some(id)) = (op["bulkId"].as_str(), response["id"].as_str())
            && method == "POST"
            && (200..300).contains(&status)
        {
            created.insert(bulk_id.to_owned(), id.to_owned());
        }
        if (200..300).contains(&status) {
            let location = if method == "POST" {
                format!("/v2{path}/{}", response["id"].as_str().unwrap_or_default())
            } else {
                format!("/v2{path}")
            };
            result["location"] = json!(location);
            if let Some(version) = response["meta"]["version"].as_str() {
                result["version"] = json!(version);
            }
        } else {
            result["response"] = response;
            if method != "POST" {
                result["location"] = json!(format!("/v2{path}"));
            }
        }
        store.bulk_log.push(Logged {
            method,
            path,
            status,
            authorization: None,
            body: op.to_string(),
            if_match: alone.if_match.clone(),
        });
        results.push(result);
    }
    if config.reverse_order {
        results.reverse();
    }
    (
        200,
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], "Operations": results}),
        ),
    )
}

/// Acts on a request held back by [`Fault::SlowThenApply`], and logs it.
fn apply_and_log(store: &Arc<Mutex<Store>>, request: &Request) -> Reply {
    let mut store = store.lock().unwrap();
    let (status, body) = scim(&mut store, request);
    store.log.push(Logged {
        method: request.method.clone(),
        path: request.path.clone(),
        status,
        authorization: request.authorization.clone(),
        body: String::from_utf8_lossy(&request.body).to_string(),
        if_match: request.if_match.clone(),
    });
    Reply::Answer(status, Vec::new(), body)
}

/// The stored resources of one kind, without copying them.
fn resources<'a>(store: &'a Store, kind: &str) -> Box<dyn Iterator<Item = &'a Json> + 'a> {
    if kind == "Users" {
        Box::new(store.users.values())
    } else {
        Box::new(store.groups.values())
    }
}

/// The SCIM store itself: enough of RFC 7644 for the engine's requests, with ETags checked
/// and bumped when the server offers them.
fn scim(store: &mut Store, request: &Request) -> (u16, Option<Json>) {
    let path = request.path.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_start_matches("/v2/").split('/').collect();
    let kind = parts[0];
    if kind == "ServiceProviderConfig" && request.method == "GET" {
        // What offer_bulk / offer_etag advertise, else what a strict test set.
        let offered = store.service_provider_config.as_ref();
        return match offered.or(store.strict.service_provider_config.as_ref()) {
            Some(config) => (200, Some(config.clone())),
            None => (404, error(404, "no such endpoint")),
        };
    }
    if kind == "Bulk" && request.method == "POST" && store.bulk.is_some() {
        return bulk(store, request);
    }
    let write = matches!(request.method.as_str(), "PUT" | "PATCH" | "DELETE");
    let stored = |store: &Store, id: &str| -> Option<Json> {
        if kind == "Users" {
            store.users.get(id).cloned()
        } else {
            store.groups.get(id).cloned()
        }
    };
    let (etag, id) = (store.etag, parts.get(1).copied());
    if write
        && let Some(id) = id
        && let Some(at) = store.touches.iter().position(|(t, ..)| t == id)
    {
        let (_, attribute, value) = store.touches.remove(at);
        if let Some(user) = store.users.get_mut(id) {
            user[attribute.as_str()] = value;
            if etag {
                bump_version(user);
            }
        }
    }
    let previous = id
        .and_then(|id| stored(store, id))
        .map(|r| r["meta"].clone());
    if etag
        && write
        && let (Some(expected), Some(meta)) = (&request.if_match, &previous)
        && meta["version"].as_str() != Some(expected.as_str())
    {
        return (
            412,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "412", "detail": "the resource changed (version mismatch)"}),
            ),
        );
    }
    let (status, mut body) = scim_store(store, request);
    if etag
        && matches!(request.method.as_str(), "PUT" | "PATCH")
        && (200..300).contains(&status)
        && let (Some(id), Some(meta)) = (id, previous)
    {
        let resources = if kind == "Users" {
            &mut store.users
        } else {
            &mut store.groups
        };
        if let Some(resource) = resources.get_mut(id) {
            resource["meta"] = meta;
            bump_version(resource);
            if let Some(body) = body.as_mut() {
                body["meta"] = resource["meta"].clone();
            }
        }
    }
    (status, body)
}

/// The store's side of [`scim`].
fn scim_store(store: &mut Store, request: &Request) -> (u16, Option<Json>) {
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let parts: Vec<&str> = path.trim_start_matches("/v2/").split('/').collect();
    let body: Json = serde_json::from_slice(&request.body).unwrap_or(Json::Null);
    let kind = parts[0];
    if kind == "Schemas"
        && request.method == "GET"
        && let Some(schemas) = &store.strict.schemas
    {
        return (200, Some(schemas.clone()));
    }
    if kind != "Users" && kind != "Groups" {
        return (404, error(404, "no such endpoint"));
    }
    if let Some(refusal) = strict_refusal(store, request, kind, &body) {
        return refusal;
    }
    let body = strict_store(&store.strict, kind, body, request.method == "POST");
    let unique = if kind == "Users" {
        "userName"
    } else {
        "displayName"
    };
    let items = |store: &Store| -> Vec<Json> { resources(store, kind).cloned().collect() };
    let item = |store: &mut Store, id: &str| -> Option<Json> {
        if kind == "Users" {
            store.users.get(id).cloned()
        } else {
            store.groups.get(id).cloned()
        }
    };
    let put = |store: &mut Store, id: &str, value: Json| {
        if kind == "Users" {
            store.users.insert(id.to_owned(), value);
        } else {
            store.groups.insert(id.to_owned(), value);
        }
    };
    match (request.method.as_str(), parts.get(1)) {
        ("GET", None) => {
            let pairs: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            let mut all = items(store);
            let mut counted_out = 0;
            if let Some(filter) = pairs.get("filter") {
                let (attr, value) = filter.split_once(" eq ").unwrap_or(("", ""));
                let blind = store
                    .strict
                    .blind_filters
                    .iter()
                    .any(|b| attr.to_lowercase().starts_with(b));
                if blind {
                    all.clear();
                }
                let value: String = serde_json::from_str(value).unwrap_or_default();
                let ignored = store.strict.filter_ignored;
                all.retain(|u| {
                    ignored
                        || u[attr]
                            .as_str()
                            .is_some_and(|v| v.eq_ignore_ascii_case(&value))
                });
            } else {
                let before = all.len();
                all.retain(|u| {
                    u["id"]
                        .as_str()
                        .is_none_or(|id| !store.unlisted.contains(id))
                });
                if store.count_unlisted {
                    counted_out = before - all.len();
                }
            }
            let start: usize = pairs
                .get("startIndex")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1);
            let count: usize = pairs
                .get("count")
                .and_then(|s| s.parse().ok())
                .unwrap_or(100)
                .min(store.strict.page_cap.unwrap_or(usize::MAX));
            let total = all.len() + counted_out;
            let page: Vec<Json> = all
                .into_iter()
                .skip(start.saturating_sub(1))
                .take(count)
                .collect();
            (
                200,
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": total, "startIndex": start, "itemsPerPage": page.len(), "Resources": page}),
                ),
            )
        }
        ("POST", None) => {
            let name = body[unique].as_str().unwrap_or_default().to_lowercase();
            if !store.allow_duplicates
                && resources(store, kind)
                    .any(|u| u[unique].as_str().is_some_and(|v| v.to_lowercase() == name))
            {
                return (
                    409,
                    Some(
                        json!({"status": "409", "scimType": "uniqueness", "detail": format!("{unique} already in use")}),
                    ),
                );
            }
            let id = insert(store, kind, body);
            (201, item(store, &id))
        }
        ("GET", Some(id)) => match item(store, id) {
            Some(found) => (200, Some(found)),
            None => (404, error(404, "not found")),
        },
        ("PUT", Some(id)) => {
            if item(store, id).is_none() {
                return (404, error(404, "not found"));
            }
            let mut value = body;
            value["id"] = json!(id);
            put(store, id, value.clone());
            (200, Some(value))
        }
        ("DELETE", Some(id)) => {
            let existed = if kind == "Users" {
                let removed = store.users.remove(*id);
                if let Some(name) = removed.as_ref().and_then(|u| u["userName"].as_str()) {
                    let name = name.to_lowercase();
                    store.reserved.insert(name);
                }
                removed.is_some()
            } else {
                store.groups.remove(*id).is_some()
            };
            if existed {
                (204, None)
            } else {
                (404, error(404, "not found"))
            }
        }
        ("PATCH", Some(id)) => {
            let Some(mut value) = item(store, id) else {
                return (404, error(404, "not found"));
            };
            for op in body["Operations"].as_array().cloned().unwrap_or_default() {
                let name = op["op"].as_str().unwrap_or_default().to_lowercase();
                let path = op["path"].as_str().unwrap_or_default();
                if let Some(member) = path
                    .strip_prefix("members[value eq ")
                    .and_then(|r| r.strip_suffix(']'))
                {
                    let member: String = serde_json::from_str(member).unwrap_or_default();
                    if let Some(list) = value["members"].as_array_mut() {
                        list.retain(|m| m["value"].as_str() != Some(&member));
                    }
                    continue;
                }
                match (name.as_str(), path) {
                    ("add", "members") => {
                        if !value["members"].is_array() {
                            value["members"] = json!([]);
                        }
                        for m in op["value"].as_array().cloned().unwrap_or_default() {
                            value["members"].as_array_mut().unwrap().push(m);
                        }
                    }
                    ("replace" | "add", path) => {
                        let (schema, leaf) = match path.rsplit_once(':') {
                            Some((urn, attr)) if path.starts_with("urn:") => (Some(urn), attr),
                            _ => (None, path),
                        };
                        let target = match schema {
                            Some(urn) => {
                                if !value[urn].is_object() {
                                    value[urn] = json!({});
                                }
                                &mut value[urn]
                            }
                            None => &mut value,
                        };
                        match leaf.split_once('.') {
                            Some((outer, inner)) => {
                                if !target[outer].is_object() {
                                    target[outer] = json!({});
                                }
                                target[outer][inner] = op["value"].clone();
                            }
                            None => target[leaf] = op["value"].clone(),
                        }
                    }
                    _ => return (400, error(400, "unsupported patch")),
                }
            }
            let value = strict_store(&store.strict, kind, value, false);
            put(store, id, value);
            (204, None)
        }
        _ => (405, error(405, "method not allowed")),
    }
}

/// A request a strict target refuses before acting: a compound filter, a filtered PATCH path,
/// a POST with a userName still reserved by a deleted user.
fn strict_refusal(
    store: &Store,
    request: &Request,
    kind: &str,
    body: &Json,
) -> Option<(u16, Option<Json>)> {
    let strict = &store.strict;
    let (_, query) = request.path.split_once('?').unwrap_or(("", ""));
    let filter = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.into_owned());
    if let Some(filter) = filter.filter(|_| strict.single_eq_filter) {
        let simple = filter.split_once(" eq ").is_some_and(|(attr, value)| {
            !attr.contains(' ')
                && !attr.contains('[')
                && serde_json::from_str::<String>(value).is_ok()
        });
        if !simple {
            return Some((
                400,
                Some(
                    json!({"status": "400", "scimType": "invalidFilter", "detail": "only attr eq \"value\" is supported"}),
                ),
            ));
        }
    }
    let filtered_path = body["Operations"].as_array().is_some_and(|ops| {
        ops.iter()
            .any(|op| op["path"].as_str().is_some_and(|p| p.contains('[')))
    });
    if request.method == "PATCH" && strict.no_filtered_patch && filtered_path {
        return Some((501, error(501, "")));
    }
    let reserved = body["userName"]
        .as_str()
        .is_some_and(|n| store.reserved.contains(&n.to_lowercase()));
    if request.method == "POST" && kind == "Users" && strict.reserve_deleted_names && reserved {
        return Some((
            409,
            Some(
                json!({"status": "409", "scimType": "uniqueness", "detail": "userName is reserved"}),
            ),
        ));
    }
    None
}

/// A resource as a strict target stores it: attributes it does not keep dropped, e-mails
/// lower-cased, and (for `POST /Groups`) members ignored.
fn strict_store(strict: &Strict, kind: &str, mut resource: Json, post: bool) -> Json {
    let Some(object) = resource.as_object_mut() else {
        return resource;
    };
    if object.contains_key("Operations") {
        return resource;
    }
    for dropped in &strict.drops {
        object.remove(*dropped);
    }
    if strict.lowercase_emails {
        for email in object
            .get_mut("emails")
            .and_then(Json::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(value) = email["value"].as_str() {
                email["value"] = json!(value.to_lowercase());
            }
        }
    }
    if strict.group_post_ignores_members && kind == "Groups" && post {
        object.remove("members");
    }
    resource
}
