//! SCIM Bulk (RFC 7644 §3.7): many writes in one `POST /Bulk`. Pure: operations come in,
//! request bodies split within the target's `maxOperations` and `maxPayloadSize` go out, and
//! a `BulkResponse` is read back into one result per operation sent.
//!
//! `failOnErrors` is never set, so the target attempts every operation and answers each with
//! its own status. Servers differ in small ways this module accepts: `status` as a string (the
//! RFC) or a number, the created resource's id only in `location` (absolute or relative), and
//! operations answered in another order than sent (matched back by `bulkId`, else by method
//! and path, else by position).

use reqwest::Method;
use serde_json::{Map, Value as Json, json};

use scimsync_lang::scim::path::get_ci;
use scimsync_secure::secret::redact;

/// The schema of a bulk request.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// How a value or a path names a resource created earlier in the same bulk request:
/// `bulkId:` and the create's `bulkId`.
pub const BULK_ID_PREFIX: &str = "bulkId:";

/// The path of a resource of `endpoint` (`/Groups`) created in the same request as `bulk_id`.
pub fn reference_path(endpoint: &str, bulk_id: &str) -> String {
    format!("{endpoint}/{BULK_ID_PREFIX}{bulk_id}")
}

/// One write inside a bulk request.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkOperation {
    pub method: Method,
    /// Relative to the base: `/Users` for a create, `/Users/{id}` otherwise.
    pub path: String,
    /// Names a create, so its result can be told apart from the others' (`POST` only).
    pub bulk_id: Option<String>,
    /// The resource version the write expects (`If-Match` inside a bulk), when known.
    pub version: Option<String>,
    /// The resource (POST, PUT) or the PatchOp message (PATCH); none for DELETE.
    pub data: Option<Json>,
}

impl BulkOperation {
    /// The operation as it is written into `Operations`.
    pub fn to_json(&self) -> Json {
        let mut op = Map::new();
        op.insert("method".into(), json!(self.method.as_str()));
        op.insert("path".into(), json!(self.path));
        if let Some(bulk_id) = &self.bulk_id {
            op.insert("bulkId".into(), json!(bulk_id));
        }
        if let Some(version) = &self.version {
            op.insert("version".into(), json!(version));
        }
        if let Some(data) = &self.data {
            op.insert("data".into(), data.clone());
        }
        Json::Object(op)
    }

    /// Whether sending it twice has the effect of sending it once. A create does not, nor a
    /// PATCH that adds group members (some targets keep a member added twice); a PUT, a
    /// DELETE and any other PATCH do.
    pub fn replayable(&self) -> bool {
        if self.method == Method::POST {
            return false;
        }
        let adds_members = |op: &Json| {
            get_ci(op, "op")
                .and_then(Json::as_str)
                .is_some_and(|o| o.eq_ignore_ascii_case("add"))
                && get_ci(op, "path")
                    .and_then(Json::as_str)
                    .is_some_and(|p| p.eq_ignore_ascii_case("members"))
        };
        let operations = self
            .data
            .as_ref()
            .and_then(|d| get_ci(d, "Operations"))
            .and_then(Json::as_array);
        !(self.method == Method::PATCH
            && operations.is_some_and(|ops| ops.iter().any(adds_members)))
    }

    /// The `bulkId` the path names instead of an id (`/Groups/bulkId:g1`, RFC 7644 §3.7.2),
    /// for a write to a resource created earlier in the same request.
    pub fn referenced_bulk_id(&self) -> Option<&str> {
        self.path.rsplit('/').next()?.strip_prefix(BULK_ID_PREFIX)
    }

    /// Its size in a request body, in bytes (compact JSON, as the client sends it).
    fn size(&self) -> usize {
        serde_json::to_vec(&self.to_json()).map_or(usize::MAX, |v| v.len())
    }
}

/// What a target accepts in one bulk request (`bulk.maxOperations`, `bulk.maxPayloadSize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkLimits {
    pub max_operations: usize,
    /// Bytes of the whole request body.
    pub max_payload_size: usize,
}

/// How a run's operations go out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Batch {
    /// These operations (indices into the list given) in one bulk request.
    Bulk(Vec<usize>),
    /// One operation too large for any bulk request: sent as a plain request.
    Alone(usize),
}

/// The request body for `operations`.
pub fn request_body<'o>(operations: impl IntoIterator<Item = &'o BulkOperation>) -> Json {
    json!({
        "schemas": [BULK_REQUEST],
        "Operations": operations.into_iter().map(BulkOperation::to_json).collect::<Vec<_>>(),
    })
}

/// Splits `operations` in order into bulk requests none of which exceeds either limit; an
/// operation that does not fit a request of its own goes [`Batch::Alone`].
pub fn batches(operations: &[BulkOperation], limits: BulkLimits) -> Vec<Batch> {
    split(operations, limits).0
}

/// As [`batches`], for operations some of which name a create of the same list by reference
/// (`/Groups/bulkId:…`, see [`BulkOperation::referenced_bulk_id`]): a reference is valid only
/// within its create's request, so such an operation goes only into that request. One that
/// does not fit there (or whose create goes alone, or is not in the list) is left out and
/// returned apart, to be sent by id once the create has its id.
pub fn batches_keeping_references(
    operations: &[BulkOperation],
    limits: BulkLimits,
) -> (Vec<Batch>, Vec<usize>) {
    split(operations, limits)
}

fn split(operations: &[BulkOperation], limits: BulkLimits) -> (Vec<Batch>, Vec<usize>) {
    let envelope = serde_json::to_vec(&request_body([])).map_or(0, |v| v.len());
    let max_operations = limits.max_operations.max(1);
    let (mut out, mut left_out) = (Vec::new(), Vec::new());
    let mut current: Vec<usize> = Vec::new();
    let mut size = envelope;
    for (index, operation) in operations.iter().enumerate() {
        let own = operation.size();
        // A comma separates it from the one before.
        let added = own + usize::from(!current.is_empty());
        let full = !current.is_empty()
            && (current.len() >= max_operations
                || size.saturating_add(added) > limits.max_payload_size);
        if let Some(bulk_id) = operation.referenced_bulk_id() {
            let with_create = current
                .iter()
                .any(|i| operations[*i].bulk_id.as_deref() == Some(bulk_id));
            if !with_create || full {
                left_out.push(index);
                continue;
            }
        } else if envelope.saturating_add(own) > limits.max_payload_size {
            out.push(Batch::Alone(index));
            continue;
        } else if full {
            out.push(Batch::Bulk(std::mem::take(&mut current)));
            size = envelope;
        }
        size += own + usize::from(!current.is_empty());
        current.push(index);
    }
    if !current.is_empty() {
        out.push(Batch::Bulk(current));
    }
    (out, left_out)
}

/// One operation's result in a `BulkResponse`.
#[derive(Clone, Debug, PartialEq)]
pub struct OperationResult {
    pub method: Option<String>,
    pub bulk_id: Option<String>,
    /// The resource's URL (absolute or relative), for a create the only place its id may be.
    pub location: Option<String>,
    pub version: Option<String>,
    pub status: u16,
    /// The resource written, or the SCIM error for a failed operation.
    pub response: Option<Json>,
}

impl OperationResult {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The id of the resource written: from `response.id`, else the last segment of
    /// `location`.
    pub fn id(&self) -> Option<String> {
        if let Some(id) = self
            .response
            .as_ref()
            .and_then(|r| get_ci(r, "id"))
            .and_then(Json::as_str)
        {
            return Some(id.to_owned());
        }
        let location = self.location.as_deref()?;
        let path = location.split(['?', '#']).next()?.trim_end_matches('/');
        path.rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// The SCIM error's `scimType` and `detail` (redacted, as the client reads every error).
    pub fn error(&self) -> (Option<String>, Option<String>) {
        let text = |key: &str| {
            self.response
                .as_ref()
                .and_then(|r| get_ci(r, key))
                .and_then(|v| match v {
                    Json::String(s) if !s.trim().is_empty() => {
                        Some(redact::redact(s).chars().take(500).collect())
                    }
                    _ => None,
                })
        };
        (text("scimType"), text("detail"))
    }
}

/// Why a `BulkResponse` could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BulkResponseError {
    #[error("the BulkResponse has no Operations")]
    NoOperations,
    #[error("operation {0} of the BulkResponse has no valid status")]
    NoStatus(usize),
}

/// Reads a `BulkResponse`'s `Operations`.
pub fn parse_response(body: &Json) -> Result<Vec<OperationResult>, BulkResponseError> {
    let operations = get_ci(body, "Operations")
        .and_then(Json::as_array)
        .ok_or(BulkResponseError::NoOperations)?;
    operations
        .iter()
        .enumerate()
        .map(|(index, op)| {
            let text = |key: &str| get_ci(op, key).and_then(Json::as_str).map(str::to_owned);
            let status = get_ci(op, "status")
                .and_then(status_code)
                .ok_or(BulkResponseError::NoStatus(index))?;
            Ok(OperationResult {
                method: text("method"),
                bulk_id: text("bulkId"),
                location: text("location"),
                version: text("version"),
                status,
                response: get_ci(op, "response").cloned(),
            })
        })
        .collect()
}

/// A status as the RFC writes it (`"201"`), as a number (`201`), or in the older
/// `{"code": "201"}` form some servers kept from SCIM 1.1.
fn status_code(value: &Json) -> Option<u16> {
    match value {
        Json::String(s) => s.trim().parse().ok(),
        Json::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Json::Object(_) => get_ci(value, "code").and_then(status_code),
        _ => None,
    }
    .filter(|s| (100..600).contains(s))
}

/// Each sent operation's result, in the order sent; `None` for one the server did not answer.
/// A result is matched by `bulkId`, else by method and the resource id in its `location`,
/// else (what is left) by position among the results that carry neither.
pub fn match_results(
    sent: &[&BulkOperation],
    results: Vec<OperationResult>,
) -> Vec<Option<OperationResult>> {
    let mut results: Vec<Option<OperationResult>> = results.into_iter().map(Some).collect();
    let mut matched: Vec<Option<OperationResult>> = vec![None; sent.len()];
    let mut take = |found: &dyn Fn(&OperationResult) -> bool| {
        let index = results.iter().position(|r| r.as_ref().is_some_and(found))?;
        results[index].take()
    };
    for index in 0..sent.len() {
        let op = sent[index];
        if let Some(bulk_id) = &op.bulk_id {
            matched[index] = take(&|r| r.bulk_id.as_deref() == Some(bulk_id));
            continue;
        }
        let Some(id) = op.path.rsplit('/').next() else {
            continue;
        };
        // A path that names a create of the same request: the target answers with the
        // created resource's location (it resolved the reference) or with the path as sent.
        let resolved = op
            .referenced_bulk_id()
            .and_then(|bulk_id| {
                let create = sent
                    .iter()
                    .position(|s| s.bulk_id.as_deref() == Some(bulk_id))?;
                matched.get(create)?.as_ref()?.id()
            })
            .unwrap_or_default();
        let at = |location: &str, id: &str| {
            !id.is_empty() && location.trim_end_matches('/').ends_with(&format!("/{id}"))
        };
        matched[index] = take(&|r| {
            r.bulk_id.is_none()
                && r.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(op.method.as_str()))
                && r.location
                    .as_deref()
                    .is_some_and(|l| at(l, id) || at(l, &resolved))
        });
    }
    // Results without bulkId or location (some servers send neither for a failed operation):
    // by position among the operations still unmatched.
    let mut rest = results
        .into_iter()
        .flatten()
        .filter(|r| r.bulk_id.is_none() && r.location.is_none());
    for (slot, op) in matched.iter_mut().zip(sent) {
        if slot.is_none() && op.bulk_id.is_none() {
            *slot = rest.next();
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(n: usize, padding: usize) -> BulkOperation {
        BulkOperation {
            method: Method::POST,
            path: "/Users".into(),
            bulk_id: Some(format!("b{n}")),
            version: None,
            data: Some(json!({"userName": format!("u{n}"), "x": "y".repeat(padding)})),
        }
    }

    fn body_len(ops: &[BulkOperation], batch: &Batch) -> usize {
        let Batch::Bulk(indices) = batch else {
            return 0;
        };
        serde_json::to_vec(&request_body(indices.iter().map(|i| &ops[*i])))
            .unwrap()
            .len()
    }

    #[test]
    fn an_operation_is_written_as_the_rfc_shows() {
        let op = BulkOperation {
            method: Method::PATCH,
            path: "/Users/7".into(),
            bulk_id: None,
            version: Some("W/\"3\"".into()),
            data: Some(json!({"Operations": []})),
        };
        assert_eq!(
            op.to_json(),
            json!({"method": "PATCH", "path": "/Users/7", "version": "W/\"3\"", "data": {"Operations": []}})
        );
        assert_eq!(
            request_body([&create(1, 0)]),
            json!({"schemas": [BULK_REQUEST], "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b1", "data": {"userName": "u1", "x": ""}}]})
        );
    }

    #[test]
    fn batches_respect_max_operations() {
        let ops: Vec<_> = (0..7).map(|n| create(n, 0)).collect();
        let limits = BulkLimits {
            max_operations: 3,
            max_payload_size: 1 << 20,
        };
        assert_eq!(
            batches(&ops, limits),
            [
                Batch::Bulk(vec![0, 1, 2]),
                Batch::Bulk(vec![3, 4, 5]),
                Batch::Bulk(vec![6])
            ]
        );
    }

    #[test]
    fn batches_fill_up_to_max_payload_size_exactly_and_never_over() {
        let ops: Vec<_> = (0..10).map(|n| create(n, 100)).collect();
        let two = serde_json::to_vec(&request_body([&ops[0], &ops[1]]))
            .unwrap()
            .len();
        // Exactly two fit, a third would not.
        let limits = BulkLimits {
            max_operations: 100,
            max_payload_size: two,
        };
        let split = batches(&ops, limits);
        assert_eq!(split.len(), 5);
        for batch in &split {
            assert_eq!(body_len(&ops, batch), two);
        }
        let limits = BulkLimits {
            max_operations: 100,
            max_payload_size: two - 1,
        };
        let split = batches(&ops, limits);
        assert_eq!(split.len(), 10, "one byte less: one per request");
        assert!(split.iter().all(|b| body_len(&ops, b) < two));
    }

    #[test]
    fn an_operation_larger_than_the_payload_limit_goes_alone() {
        let ops = vec![create(0, 10), create(1, 5000), create(2, 10)];
        let limits = BulkLimits {
            max_operations: 10,
            max_payload_size: 1000,
        };
        assert_eq!(
            batches(&ops, limits),
            [Batch::Alone(1), Batch::Bulk(vec![0, 2])]
        );
    }

    #[test]
    fn responses_with_string_numeric_and_object_statuses_are_read() {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], "Operations": [
            {"method": "POST", "bulkId": "b1", "location": "https://h/v2/Users/abc", "version": "W/\"1\"", "status": "201"},
            {"method": "POST", "bulkId": "b2", "status": 409, "response": {"scimType": "uniqueness", "detail": "taken"}},
            {"method": "DELETE", "location": "/scim/v2/Users/x1/", "status": {"code": "204"}}
        ]});
        let results = parse_response(&body).unwrap();
        assert_eq!(results[0].id().as_deref(), Some("abc"));
        assert_eq!(results[0].version.as_deref(), Some("W/\"1\""));
        assert_eq!(results[1].status, 409);
        assert_eq!(
            results[1].error(),
            (Some("uniqueness".into()), Some("taken".into()))
        );
        assert_eq!(results[2].status, 204);
        assert_eq!(results[2].id().as_deref(), Some("x1"));
        assert_eq!(
            parse_response(&json!({"Operations": [{"status": "OK"}]})),
            Err(BulkResponseError::NoStatus(0))
        );
        assert_eq!(
            parse_response(&json!({})),
            Err(BulkResponseError::NoOperations)
        );
    }

    #[test]
    fn results_out_of_order_are_matched_by_bulk_id_and_location() {
        let patch = |id: &str| BulkOperation {
            method: Method::PATCH,
            path: format!("/Users/{id}"),
            bulk_id: None,
            version: None,
            data: None,
        };
        let (c1, c2, p1, p2) = (create(1, 0), create(2, 0), patch("i1"), patch("i2"));
        let sent = [&c1, &p1, &c2, &p2];
        let result = |bulk_id: Option<&str>, location: Option<&str>, status| OperationResult {
            method: None,
            bulk_id: bulk_id.map(str::to_owned),
            location: location.map(str::to_owned),
            version: None,
            status,
            response: None,
        };
        let matched = match_results(
            &sent,
            vec![
                result(None, Some("/v2/Users/i2"), 200),
                result(Some("b2"), Some("/v2/Users/n2"), 201),
                result(None, None, 503),
                result(Some("b1"), Some("/v2/Users/n1"), 201),
            ],
        );
        let statuses: Vec<Option<u16>> = matched
            .iter()
            .map(|m| m.as_ref().map(|r| r.status))
            .collect();
        assert_eq!(statuses, [Some(201), Some(503), Some(201), Some(200)]);
        assert_eq!(matched[2].as_ref().unwrap().id().as_deref(), Some("n2"));
        // A result the server left out.
        let matched = match_results(&[&c1, &c2], vec![result(Some("b2"), None, 201)]);
        assert!(matched[0].is_none());
        assert_eq!(matched[1].as_ref().map(|r| r.status), Some(201));
    }

    #[test]
    fn a_write_by_reference_is_matched_by_the_path_sent_or_the_created_location() {
        let group = BulkOperation {
            method: Method::POST,
            path: "/Groups".into(),
            bulk_id: Some("group-1".into()),
            version: None,
            data: None,
        };
        let members = |chunk: &str| BulkOperation {
            method: Method::PATCH,
            path: reference_path("/Groups", "group-1"),
            bulk_id: None,
            version: None,
            data: Some(
                json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": chunk}]}]}),
            ),
        };
        let (first, second) = (members("u1"), members("u2"));
        assert_eq!(first.path, "/Groups/bulkId:group-1");
        assert_eq!(first.referenced_bulk_id(), Some("group-1"));
        assert_eq!(group.referenced_bulk_id(), None);
        let result = |bulk_id: Option<&str>, location: &str, status| OperationResult {
            method: Some(if bulk_id.is_some() { "POST" } else { "PATCH" }.into()),
            bulk_id: bulk_id.map(str::to_owned),
            location: Some(location.into()),
            version: None,
            status,
            response: None,
        };
        // Resolved (scim2-server): the PATCHes answer with the new group's location.
        let matched = match_results(
            &[&group, &first, &second],
            vec![
                result(Some("group-1"), "http://h/v2/Groups/g9", 201),
                result(None, "http://h/v2/Groups/g9", 200),
                result(None, "http://h/v2/Groups/g9", 204),
            ],
        );
        let statuses: Vec<Option<u16>> = matched
            .iter()
            .map(|m| m.as_ref().map(|r| r.status))
            .collect();
        assert_eq!(statuses, [Some(201), Some(200), Some(204)]);
        // Not resolved (SCIMMY): they answer 404 at the path as sent.
        let matched = match_results(
            &[&group, &first],
            vec![
                result(Some("group-1"), "/scim/v2/Groups/g9", 201),
                result(None, "/scim/v2/Groups/bulkId:group-1", 404),
            ],
        );
        assert_eq!(matched[1].as_ref().map(|r| r.status), Some(404));
    }

    #[test]
    fn creates_and_member_adds_are_not_replayable_other_writes_are() {
        let patch = |op: &str, path: &str| BulkOperation {
            method: Method::PATCH,
            path: "/Groups/g1".into(),
            bulk_id: None,
            version: None,
            data: Some(json!({"Operations": [{"op": op, "path": path, "value": []}]})),
        };
        assert!(!create(1, 0).replayable());
        assert!(!patch("add", "members").replayable());
        assert!(!patch("Add", "Members").replayable(), "Entra's op casing");
        assert!(patch("remove", "members[value eq \"u1\"]").replayable());
        assert!(patch("replace", "displayName").replayable());
        let delete = BulkOperation {
            method: Method::DELETE,
            data: None,
            ..patch("remove", "members")
        };
        assert!(delete.replayable());
    }
}
