//! JSON exports: Okta's List Users shape, Microsoft Graph users, and plain flat objects, as
//! one JSON document or as JSON Lines.
//!
//! ```text
//! file ─▶ scan (one record's text at a time) ─▶ serde_json ─▶ okta / graph / plain ─▶ Record
//! ```
//!
//! Exports are read as a stream ([`RecordStream`]): memory follows the largest record, not
//! the file. A malformed file is an error that names the file, the record (index and line)
//! and what is wrong, and the run stops before anything is written.

pub mod graph;
pub mod okta;
pub mod record_error;
pub mod scan;
pub mod settings;
pub mod strict;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value as Json;

use crate::{Directory, Group};
pub use record_error::RecordError;
use scan::{DocumentScanner, LineScanner, Piece, ScanError};
use scimsync_lang::record::Record;
use settings::{JsonFormat, JsonFraming, JsonSourceConfig};

#[derive(Debug, thiserror::Error)]
pub enum JsonSourceError {
    #[error("cannot read export {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("export {path} is not valid JSON (line {line}, column {column}): {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("export {path} is not valid JSON (line {line}): record {index}: {message}")]
    Broken {
        path: String,
        line: usize,
        index: usize,
        message: String,
    },
    #[error("export {path}, line {line}: {message}")]
    Structure {
        path: String,
        line: usize,
        message: String,
    },
    #[error("export {path}: {message}")]
    Shape { path: String, message: String },
    #[error("export {path}, record {index} (line {line}): {message}")]
    Record {
        path: String,
        index: usize,
        line: usize,
        message: String,
    },
}

/// Reads every user of an export into memory (the shape of the first source API).
pub fn load(
    path: &Path,
    format: JsonFormat,
    id_field: &str,
) -> Result<Vec<Record>, JsonSourceError> {
    open(path, format, id_field)?.collect()
}

/// Opens an export file with no side files, JSON Lines when its extension says so.
pub fn open(
    path: &Path,
    format: JsonFormat,
    id_field: &str,
) -> Result<RecordStream, JsonSourceError> {
    RecordStream::open(&JsonSourceConfig {
        path: path.to_owned(),
        format,
        id_field: id_field.to_owned(),
        framing: JsonFraming::Auto,
        groups_path: None,
        service_principal_path: None,
    })
}

/// Parses an export already in memory (one JSON document); `path` is only for messages.
pub fn parse(
    text: &str,
    path: &str,
    format: JsonFormat,
    id_field: &str,
) -> Result<Vec<Record>, JsonSourceError> {
    let shaper = Shaper::new(format, id_field, path, Context::default());
    let scanner = Scanner::Document(DocumentScanner::new(Box::new(std::io::Cursor::new(
        text.as_bytes().to_vec(),
    ))));
    RecordStream::new(path.to_owned(), scanner, shaper).collect()
}

/// Reads the whole export as a directory: users, and the groups the export names.
pub fn read(config: &JsonSourceConfig) -> Result<Directory, JsonSourceError> {
    let mut users = Vec::new();
    let groups = read_each(config, true, |user| users.push(user))?;
    Ok(Directory { users, groups })
}

/// Streams the export: each user goes to `each` as soon as it is parsed, so memory holds one
/// user at a time, not the file; then the groups come back: the groups export's, else those
/// the users name (embedded Okta groups, Graph `memberOf`, plain `groups`), listing their
/// members when `members`. An error means the export is broken somewhere: whatever `each`
/// was given must be thrown away.
pub fn read_each(
    config: &JsonSourceConfig,
    members: bool,
    mut each: impl FnMut(Record),
) -> Result<Vec<Group>, JsonSourceError> {
    let mut stream = RecordStream::open(config)?;
    let from_export = stream.shaper.context.okta_groups.is_some();
    let mut named: BTreeMap<String, Group> = BTreeMap::new();
    while let Some(user) = stream.next() {
        let user = user?;
        if !from_export {
            let ids = &stream.shaper.context.group_ids;
            for name in &user.groups {
                // Most users name groups already seen: no copy of the name for those.
                if !named.contains_key(name) {
                    let group = Group {
                        id: ids.get(name).cloned().unwrap_or_else(|| name.clone()),
                        name: name.clone(),
                        ..Group::default()
                    };
                    named.insert(name.clone(), group);
                }
                let Some(group) = named.get_mut(name) else {
                    continue;
                };
                if members {
                    group.members.push(user.id.clone());
                }
            }
        }
        each(user);
    }
    Ok(match stream.shaper.context.okta_groups.take() {
        Some(export) => export.groups,
        None => named.into_values().collect(),
    })
}

/// Side files an export's records are read with.
#[derive(Default)]
pub struct Context {
    /// Okta groups export: user id → group names.
    pub okta_groups: Option<okta::GroupsExport>,
    /// Graph: the service principal whose app roles assignments refer to.
    pub service_principal: Option<graph::ServicePrincipal>,
    /// Group name → id, learnt from group objects embedded in records.
    pub group_ids: HashMap<String, String>,
}

impl Context {
    fn load(config: &JsonSourceConfig) -> Result<Context, JsonSourceError> {
        let okta_groups = config
            .groups_path
            .as_deref()
            .map(okta::GroupsExport::load)
            .transpose()?;
        let service_principal = config
            .service_principal_path
            .as_deref()
            .map(graph::ServicePrincipal::load)
            .transpose()?;
        Ok(Context {
            okta_groups,
            service_principal,
            group_ids: HashMap::new(),
        })
    }
}

enum Scanner {
    Document(DocumentScanner<Box<dyn BufRead>>),
    Lines(LineScanner<Box<dyn BufRead>>),
}

/// Turns one parsed record into a [`Record`] by the export's format.
pub struct Shaper {
    format: JsonFormat,
    id_field: String,
    context: Context,
}

impl Shaper {
    fn new(format: JsonFormat, id_field: &str, _path: &str, context: Context) -> Shaper {
        Shaper {
            format,
            id_field: id_field.to_owned(),
            context,
        }
    }

    fn shape(&mut self, json: Json) -> Result<Record, RecordError> {
        let Json::Object(object) = json else {
            return Err(RecordError::NotAnObject(json_kind(&json)));
        };
        if self.format == JsonFormat::Auto {
            self.format = detect(&object);
        }
        match self.format {
            JsonFormat::Okta => okta::record(object, &mut self.context),
            JsonFormat::Graph => graph::record(object, &mut self.context),
            _ => plain_record(object, &self.id_field),
        }
    }
}

/// One exported user as a record, shaped as `format` says, with no side files
/// (`scimsync explain --record`).
pub fn record_from_json(
    item: Json,
    format: JsonFormat,
    id_field: &str,
) -> Result<Record, RecordError> {
    Shaper::new(format, id_field, "", Context::default()).shape(item)
}

/// The format of an export, decided by its first record.
fn detect(object: &serde_json::Map<String, Json>) -> JsonFormat {
    if object.get("profile").is_some_and(Json::is_object)
        || object
            .get("_embedded")
            .and_then(|e| e.get("user"))
            .is_some_and(Json::is_object)
    {
        JsonFormat::Okta
    } else if object.contains_key("userPrincipalName") {
        JsonFormat::Graph
    } else {
        JsonFormat::Plain
    }
}

/// The records of an export, one at a time. Any error ends the stream: a partial export
/// must never be taken for the whole directory.
pub struct RecordStream {
    path: String,
    scanner: Scanner,
    shaper: Shaper,
    /// Hashes of the ids seen so far (with the record index), to refuse duplicates without
    /// keeping every id in memory.
    seen: HashMap<u64, usize>,
    finished: bool,
}

impl RecordStream {
    /// Opens an export as configured (and its side files: groups, service principal).
    pub fn open(config: &JsonSourceConfig) -> Result<RecordStream, JsonSourceError> {
        let path = config.path.display().to_string();
        let file = File::open(&config.path).map_err(|e| JsonSourceError::Read {
            path: path.clone(),
            reason: e.kind().to_string(),
        })?;
        let input: Box<dyn BufRead> = Box::new(BufReader::with_capacity(256 * 1024, file));
        let scanner = if config.is_lines() {
            Scanner::Lines(LineScanner::new(input))
        } else {
            Scanner::Document(DocumentScanner::new(input))
        };
        let context = Context::load(config)?;
        let shaper = Shaper::new(config.format, &config.id_field, &path, context);
        Ok(RecordStream::new(path, scanner, shaper))
    }

    fn new(path: String, scanner: Scanner, shaper: Shaper) -> RecordStream {
        RecordStream {
            path,
            scanner,
            shaper,
            seen: HashMap::new(),
            finished: false,
        }
    }

    fn structure(&self, e: ScanError) -> JsonSourceError {
        scan_error(&self.path, e)
    }

    fn next_record(&mut self) -> Result<Option<Record>, JsonSourceError> {
        let piece = match &mut self.scanner {
            Scanner::Document(s) => s.next_piece(),
            Scanner::Lines(s) => s.next_piece(),
        }
        .map_err(|e| self.structure(e))?;
        let Some(piece) = piece else {
            self.end()?;
            return Ok(None);
        };
        let json = parse_piece(&self.path, &piece)?;
        let Piece { index, line, .. } = piece;
        let record_error = |error: RecordError| JsonSourceError::Record {
            path: self.path.clone(),
            index,
            line,
            message: error.to_string(),
        };
        let record = self.shaper.shape(json).map_err(record_error)?;
        let mut hasher = DefaultHasher::new();
        record.id.hash(&mut hasher);
        if let Some(first) = self.seen.insert(hasher.finish(), index) {
            return Err(record_error(RecordError::DuplicateId {
                id: record.id,
                first,
            }));
        }
        Ok(Some(record))
    }

    /// After the last record: the rest of the document must be sound and complete.
    fn end(&mut self) -> Result<(), JsonSourceError> {
        if let Scanner::Document(scanner) = &mut self.scanner {
            scanner.finish().map_err(|e| JsonSourceError::Structure {
                path: self.path.clone(),
                line: e.line,
                message: e.message,
            })?;
            if let Some(next) = &scanner.envelope.next_link {
                return Err(JsonSourceError::Shape {
                    path: self.path.clone(),
                    message: format!(
                        "this is one page of a longer Graph list (`@odata.nextLink` is {next}); export every page into one file"
                    ),
                });
            }
        }
        if let Some(groups) = &self.shaper.context.okta_groups {
            groups.check_all_used(&self.path)?;
        }
        Ok(())
    }
}

impl Iterator for RecordStream {
    type Item = Result<Record, JsonSourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.next_record() {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

/// A flat object; `id_field` names its identity.
fn plain_record(
    object: serde_json::Map<String, Json>,
    id_field: &str,
) -> Result<Record, RecordError> {
    let id = identity(object.get(id_field)).ok_or_else(|| RecordError::MissingIdentity {
        id_field: id_field.to_owned(),
    })?;
    let mut record = Record::from_flat_json(id, &object);
    record.active = active_flag(object.get("active"), "active")?;
    Ok(record)
}

/// An enabled flag: absent or null means enabled.
pub(crate) fn active_flag(value: Option<&Json>, name: &str) -> Result<bool, RecordError> {
    match value {
        None | Some(Json::Null) => Ok(true),
        Some(Json::Bool(b)) => Ok(*b),
        Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(RecordError::NotAFlag {
            key: name.to_owned(),
            found: other.clone(),
        }),
    }
}

/// A non-empty string or number identity.
pub(crate) fn identity(value: Option<&Json>) -> Option<String> {
    match value? {
        Json::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// serde_json appends " at line L column C", which the error reports on its own.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// serde_json's message for `e` without its position, its nesting limit said in words.
/// The limit (serde_json's default, left on) is what keeps parsing, converting and dropping
/// a record from overflowing the stack.
pub(crate) fn json_error_message(e: &serde_json::Error) -> String {
    let message = strip_position(&e.to_string());
    if message == "recursion limit exceeded" {
        format!("arrays and objects nested more than {JSON_MAX_DEPTH} levels deep")
    } else {
        message
    }
}

/// How deeply serde_json lets arrays and objects nest: its default recursion limit of 128
/// fails on the 128th level.
pub const JSON_MAX_DEPTH: usize = 127;

/// A structural error: broken JSON inside a record, or a file of the wrong shape.
fn scan_error(path: &str, e: ScanError) -> JsonSourceError {
    match e.index {
        Some(index) => JsonSourceError::Broken {
            path: path.to_owned(),
            index,
            line: e.line,
            message: e.message,
        },
        None => JsonSourceError::Structure {
            path: path.to_owned(),
            line: e.line,
            message: e.message,
        },
    }
}

/// Reads a small side file (a groups export, a service principal) as one JSON document.
pub(crate) fn read_side_file(path: &Path) -> Result<Json, JsonSourceError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| JsonSourceError::Read {
        path: shown.clone(),
        reason: e.kind().to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| JsonSourceError::Syntax {
        path: shown,
        line: e.line(),
        column: e.column(),
        message: json_error_message(&e),
    })
}

/// The elements of a JSON array document one by one, parsed, with their index and line.
pub(crate) fn each_piece<R: BufRead>(
    input: R,
    path: &str,
) -> impl FnMut() -> Result<Option<(usize, usize, Json)>, JsonSourceError> {
    let mut scanner = DocumentScanner::new(input);
    let path = path.to_owned();
    move || {
        let structure = |e: ScanError| scan_error(&path, e);
        let Some(piece) = scanner.next_piece().map_err(structure)? else {
            scanner.finish().map_err(structure)?;
            return Ok(None);
        };
        let json = parse_piece(&path, &piece)?;
        Ok(Some((piece.index, piece.line, json)))
    }
}

/// Parses one record's text: broken JSON is an error at its line and column in the file, a
/// key that appears twice in one object an error naming the record and the key.
fn parse_piece(path: &str, piece: &Piece) -> Result<Json, JsonSourceError> {
    // Trailing blanks trimmed: a record cut short is then reported where its text ends, not
    // at the start of the next line.
    strict::parse(piece.text.trim_ascii_end()).map_err(|error| match error {
        strict::ParseError::Syntax(e) => JsonSourceError::Syntax {
            path: path.to_owned(),
            line: piece.line + e.line() - 1,
            column: if e.line() == 1 {
                piece.column + e.column() - 1
            } else {
                e.column()
            },
            message: format!("record {}: {}", piece.index, json_error_message(&e)),
        },
        strict::ParseError::DuplicateKey(key) => JsonSourceError::Record {
            path: path.to_owned(),
            index: piece.index,
            line: piece.line,
            message: format!("duplicate key `{key}`"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimsync_lang::value::Value;

    fn okta(text: &str) -> Result<Vec<Record>, JsonSourceError> {
        parse(text, "users.json", JsonFormat::Auto, "id")
    }

    #[test]
    fn okta_users_become_records() {
        let users = okta(
            r#"[{"id":"00u1","status":"ACTIVE","profile":{"login":"a@x","email":"a@x","firstName":"Zoë"},"groups":["Eng",{"profile":{"name":"Ops"}}]},
                {"id":"00u2","status":"DEPROVISIONED","profile":{"login":"b@x"}}]"#,
        )
        .unwrap();
        assert_eq!(users[0].id, "00u1");
        assert!(users[0].active);
        assert_eq!(users[0].get("firstName"), &Value::from("Zoë"));
        assert_eq!(users[0].get("status"), &Value::from("ACTIVE"));
        assert_eq!(users[0].groups, vec!["Eng", "Ops"]);
        assert!(!users[1].active);
    }

    #[test]
    fn okta_statuses_are_matched_in_any_case_and_an_unknown_one_is_an_error() {
        let statuses = [
            ("active", true),
            ("Staged", false),
            ("PROVISIONED", true),
            ("recovery", true),
            ("password_expired", true),
            ("LOCKED_OUT", true),
            ("suspended", false),
            ("deprovisioned", false),
        ];
        let records: Vec<String> = statuses
            .iter()
            .enumerate()
            .map(|(i, (status, _))| format!(r#"{{"id":"{i}","status":"{status}","profile":{{}}}}"#))
            .collect();
        let users = okta(&format!("[{}]", records.join(","))).unwrap();
        let read: Vec<(Value, bool)> = users
            .iter()
            .map(|u| (u.get("status").clone(), u.active))
            .collect();
        let expected: Vec<(Value, bool)> = statuses
            .iter()
            .map(|(status, active)| (Value::from(status.to_ascii_uppercase().as_str()), *active))
            .collect();
        assert_eq!(read, expected, "kept as Okta spells it");
        let err = okta(
            "[{\"id\":\"1\",\"status\":\"ACTIVE\",\"profile\":{}},\n {\"id\":\"2\",\"status\":\"WHATEVER\",\"profile\":{}}]",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json, record 1 (line 2): `status` \"WHATEVER\" is not an Okta user status (one of ACTIVE, STAGED, PROVISIONED, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED)"
        );
    }

    #[test]
    fn a_duplicate_key_in_a_record_names_the_record_and_the_key() {
        let err = okta(
            "[{\"id\":\"1\",\"profile\":{}},\n {\"id\":\"2\",\"profile\":{\"email\":\"a@x\",\"email\":\"b@x\"}}]",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json, record 1 (line 2): duplicate key `profile.email`"
        );
    }

    #[test]
    fn plain_objects_use_the_id_field() {
        let users = parse(
            r#"[{"mail":"a@x","active":false}]"#,
            "u.json",
            JsonFormat::Plain,
            "mail",
        )
        .unwrap();
        assert_eq!(users[0].id, "a@x");
        assert!(!users[0].active);
    }

    #[test]
    fn malformed_input_names_file_record_and_problem() {
        let err = okta("[{\"id\":1,}]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json is not valid JSON (line 1, column 10): record 0: trailing comma"
        );
        let err = okta("[{\"id\":\"1\",\"profile\":{}},\n {\"profile\":{}}]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json, record 1 (line 2): missing `id` (Okta user id)"
        );
        let err = okta(r#"{"users":[]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json, line 1: expected a JSON array of users or an object with a `value` array, found an object without `value`"
        );
        let err = okta(r#"[{"id":"1","profile":{}},{"id":"1","profile":{}}]"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "export users.json, record 1 (line 1): duplicate id `1` (also record 0)"
        );
    }
}
