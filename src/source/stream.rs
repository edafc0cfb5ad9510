//! Streaming reads of JSON exports: one record at a time, for `scimsync map`, which must not
//! hold a whole directory in memory.
//!
//! Two layouts are read, told apart by the first non-blank byte: a JSON array of users
//! (`[{...}, ...]`, parsed element by element) and JSON Lines (one user object per line). Each
//! user is turned into a [`Record`] by the same code as [`super::json::load`], so a streamed
//! export means exactly what a loaded one means. As there, a malformed export is an error that
//! names the file and the record, and reading stops at the first one.

use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::Value as Json;

use super::json::{JsonSourceError, record_from_json};
use crate::config::JsonFormat;
use crate::record::Record;

/// How many records a stream delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub records: usize,
}

/// Reads the export at `path` and hands each record to `each`, in file order, until the end
/// of the file or until `each` breaks. Duplicate ids are errors, as in a loaded export.
pub fn for_each_record(
    path: &Path,
    format: JsonFormat,
    id_field: &str,
    each: impl FnMut(Record) -> ControlFlow<()>,
) -> Result<StreamStats, JsonSourceError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| JsonSourceError::Read {
        path: shown.clone(),
        reason: e.kind().to_string(),
    })?;
    read_records(
        BufReader::with_capacity(256 * 1024, file),
        &shown,
        format,
        id_field,
        each,
    )
}

/// [`for_each_record`] over any reader; `path` is only for messages.
pub fn read_records(
    mut reader: impl BufRead,
    path: &str,
    format: JsonFormat,
    id_field: &str,
    each: impl FnMut(Record) -> ControlFlow<()>,
) -> Result<StreamStats, JsonSourceError> {
    let mut sink = Sink {
        path,
        format,
        id_field,
        each,
        seen: HashSet::new(),
        count: 0,
        stopped: false,
    };
    match first_byte(&mut reader, path)? {
        None => {}
        Some(b'[') => read_array(reader, &mut sink)?,
        Some(b'{') => read_lines(reader, &mut sink)?,
        Some(_) => {
            return Err(JsonSourceError::Shape {
                path: path.to_owned(),
                message: "expected a JSON array of users or JSON Lines (one user object per line)"
                    .into(),
            });
        }
    }
    Ok(StreamStats {
        records: sink.count,
    })
}

/// Where parsed users go: conversion to records, the duplicate-id check, the caller.
struct Sink<'a, F> {
    path: &'a str,
    format: JsonFormat,
    id_field: &'a str,
    each: F,
    seen: HashSet<String>,
    count: usize,
    stopped: bool,
}

impl<F: FnMut(Record) -> ControlFlow<()>> Sink<'_, F> {
    /// Converts and delivers user number `index` (0-based, as `json::load` counts them).
    fn deliver(&mut self, item: &Json, index: usize) -> Result<(), JsonSourceError> {
        let record_error = |message: String| JsonSourceError::Record {
            path: self.path.to_owned(),
            index,
            message,
        };
        let record = record_from_json(item, self.format, self.id_field).map_err(record_error)?;
        if !self.seen.insert(record.id.clone()) {
            return Err(record_error(format!("duplicate id `{}`", record.id)));
        }
        self.count += 1;
        if (self.each)(record).is_break() {
            self.stopped = true;
        }
        Ok(())
    }
}

/// The first byte that is not whitespace, left unread.
fn first_byte(reader: &mut impl BufRead, path: &str) -> Result<Option<u8>, JsonSourceError> {
    loop {
        let buffer = reader.fill_buf().map_err(|e| JsonSourceError::Read {
            path: path.to_owned(),
            reason: e.kind().to_string(),
        })?;
        if buffer.is_empty() {
            return Ok(None);
        }
        match buffer.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let byte = buffer[i];
                reader.consume(i);
                return Ok(Some(byte));
            }
            None => {
                let all = buffer.len();
                reader.consume(all);
            }
        }
    }
}

fn read_lines<F: FnMut(Record) -> ControlFlow<()>>(
    mut reader: impl BufRead,
    sink: &mut Sink<'_, F>,
) -> Result<(), JsonSourceError> {
    let mut line = String::new();
    let mut line_number = 0;
    let mut index = 0;
    while !sink.stopped {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| JsonSourceError::Read {
                path: sink.path.to_owned(),
                reason: e.kind().to_string(),
            })?;
        if read == 0 {
            break;
        }
        line_number += 1;
        if line.trim().is_empty() {
            continue;
        }
        // Without its line break, so a position in it is a column of this line of the file.
        let json = line.trim_end_matches(['\n', '\r']);
        let item: Json = serde_json::from_str(json).map_err(|e| JsonSourceError::Syntax {
            path: sink.path.to_owned(),
            line: line_number,
            column: e.column(),
            message: super::json::strip_position(&e.to_string()),
        })?;
        sink.deliver(&item, index)?;
        index += 1;
    }
    Ok(())
}

fn read_array<F: FnMut(Record) -> ControlFlow<()>>(
    reader: impl Read,
    sink: &mut Sink<'_, F>,
) -> Result<(), JsonSourceError> {
    let mut failure: Option<JsonSourceError> = None;
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let parsed = deserializer.deserialize_seq(Elements {
        sink: &mut *sink,
        failure: &mut failure,
    });
    if let Some(failure) = failure {
        return Err(failure);
    }
    if sink.stopped {
        return Ok(());
    }
    let syntax = |e: serde_json::Error| JsonSourceError::Syntax {
        path: sink.path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: super::json::strip_position(&e.to_string()),
    };
    parsed.map_err(syntax)?;
    deserializer.end().map_err(syntax)
}

/// Visits the array's elements one by one, delivering each before parsing the next.
struct Elements<'s, 'a, F> {
    sink: &'s mut Sink<'a, F>,
    /// A record-level error, kept apart from serde's syntax errors so its message is ours.
    failure: &'s mut Option<JsonSourceError>,
}

impl<'de, F: FnMut(Record) -> ControlFlow<()>> Visitor<'de> for Elements<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of users")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(item) = seq.next_element::<Json>()? {
            if let Err(e) = self.sink.deliver(&item, index) {
                *self.failure = Some(e);
                return Err(serde::de::Error::custom("record error"));
            }
            if self.sink.stopped {
                return Err(serde::de::Error::custom("stopped"));
            }
            index += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Result<Vec<String>, String> {
        let mut ids = Vec::new();
        read_records(text.as_bytes(), "u.json", JsonFormat::Auto, "id", |r| {
            ids.push(format!("{}:{}", r.id, r.active));
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
        Ok(ids)
    }

    #[test]
    fn arrays_and_json_lines_give_the_same_records() {
        let array = r#" [{"id":"1","status":"ACTIVE","profile":{"login":"a"}},
                         {"id":"2","status":"SUSPENDED","profile":{"login":"b"}}]"#;
        let lines = "{\"id\":\"1\",\"status\":\"ACTIVE\",\"profile\":{\"login\":\"a\"}}\n\n{\"id\":\"2\",\"status\":\"SUSPENDED\",\"profile\":{\"login\":\"b\"}}\n";
        assert_eq!(ids(array).unwrap(), ["1:true", "2:false"]);
        assert_eq!(ids(lines).unwrap(), ["1:true", "2:false"]);
        assert_eq!(ids("  \n").unwrap(), Vec::<String>::new());
        assert_eq!(ids("[]").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn malformed_exports_name_the_line_or_record() {
        assert_eq!(
            ids("{\"id\":\"1\",\"profile\":{}}\n{\"id\":2,,}\n").unwrap_err(),
            "export u.json is not valid JSON (line 2, column 9): key must be a string"
        );
        assert_eq!(
            ids(r#"[{"id":"1","profile":{}}, {"profile":{}}]"#).unwrap_err(),
            "export u.json, record 1: missing `id` (Okta user id)"
        );
        assert_eq!(
            ids(r#"[{"id":"1","profile":{}}, {"id":"1","profile":{}}]"#).unwrap_err(),
            "export u.json, record 1: duplicate id `1`"
        );
        assert_eq!(
            ids(r#"[{"id":"1","profile":{}} {"id":"2"}]"#).unwrap_err(),
            "export u.json is not valid JSON (line 1, column 26): expected `,` or `]`"
        );
        assert_eq!(
            ids(r#"[{"id":"1","profile":{}}] x"#).unwrap_err(),
            "export u.json is not valid JSON (line 1, column 27): trailing characters"
        );
        assert_eq!(
            ids("\"users\"").unwrap_err(),
            "export u.json: expected a JSON array of users or JSON Lines (one user object per line)"
        );
    }

    #[test]
    fn a_break_stops_reading() {
        let mut seen = 0;
        let stats = read_records(
            "[{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"}]".as_bytes(),
            "u.json",
            JsonFormat::Plain,
            "id",
            |_| {
                seen += 1;
                if seen == 2 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .unwrap();
        assert_eq!((seen, stats.records), (2, 2));
    }
}
