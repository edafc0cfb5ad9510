//! Streaming reads of exports for `scimsync map` and `explain`: one record at a time, through
//! the same [`RecordStream`](super::json::RecordStream) a sync reads with, so a streamed
//! export means exactly what a loaded one means. A malformed export is an error that names
//! the file and the record, and reading stops at the first one.

use std::ops::ControlFlow;
use std::path::Path;

use super::json::JsonSourceError;
use crate::json::settings::JsonFormat;
use scimsync_lang::record::Record;

/// How many records a stream delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub records: usize,
}

/// Reads the export at `path` (JSON Lines when it ends in `.jsonl` or `.ndjson`, else one JSON
/// document) and hands each record to `each`, in file order, until the end of the file or
/// until `each` breaks. Duplicate ids are errors, as in a loaded export.
pub fn for_each_record(
    path: &Path,
    format: JsonFormat,
    id_field: &str,
    mut each: impl FnMut(Record) -> ControlFlow<()>,
) -> Result<StreamStats, JsonSourceError> {
    let mut stats = StreamStats::default();
    for record in super::json::open(path, format, id_field)? {
        stats.records += 1;
        if each(record?).is_break() {
            break;
        }
    }
    Ok(stats)
}
