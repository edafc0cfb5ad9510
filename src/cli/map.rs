//! `scimsync map --mapping FILE.map --input EXPORT`: the SCIM User resources a mapping makes
//! of an export, as JSON Lines on stdout. No network, no state.
//!
//! It streams: each user is read, mapped and written before the next is read, so memory stays
//! flat however large a JSON Lines export is. Users the mapping skips are reported on stderr,
//! one line each, naming the rule, the user and the value; the others go on.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::error::CliError;
use crate::sync::desired::{Desire, Mapper};
use crate::sync::load_plan;
use scimsync_lang::mapping::plan::MappedUser;
use scimsync_lang::scim::resource::user_resource;
use scimsync_lang::value::Value;
use scimsync_source::json::settings::JsonFormat;
use scimsync_source::stream;

/// The shape of the export's users.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum ExportFormat {
    /// Decided by the first user: Okta's shape with a `profile` object, Graph's with `userPrincipalName`, else plain.
    #[default]
    Auto,
    /// Okta's List Users API: `{id, status, profile: {...}, groups: [...]}`.
    Okta,
    /// Microsoft Graph users: `{"value": [...]}` or a bare array of `{id, userPrincipalName, ...}`.
    Graph,
    /// Flat objects, one per user; nested objects become dotted names.
    Plain,
}

impl From<ExportFormat> for JsonFormat {
    fn from(format: ExportFormat) -> JsonFormat {
        match format {
            ExportFormat::Auto => JsonFormat::Auto,
            ExportFormat::Okta => JsonFormat::Okta,
            ExportFormat::Graph => JsonFormat::Graph,
            ExportFormat::Plain => JsonFormat::Plain,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct MapArgs {
    /// The .map file.
    #[arg(long, value_name = "FILE.map")]
    mapping: PathBuf,
    /// The export: a JSON array of users or JSON Lines (one user object per line).
    #[arg(long, value_name = "EXPORT")]
    input: PathBuf,
    /// The shape of each user in the export.
    #[arg(long, value_enum, default_value_t)]
    format: ExportFormat,
    /// For plain exports: the field that identifies a user.
    #[arg(long, default_value = "id", value_name = "FIELD")]
    id_field: String,
    /// The current time for Time.now()/Now(), as RFC 3339.
    #[arg(long, value_parser = super::eval::parse_now)]
    now: Option<DateTime<Utc>>,
}

/// Counts for the closing summary.
#[derive(Default)]
struct Tally {
    written: usize,
    skipped: usize,
    out_of_scope: usize,
}

pub fn run(args: MapArgs) -> Result<ExitCode, CliError> {
    let plan = load_plan(&args.mapping)?;
    let mut mapper = Mapper::new(&plan, args.now.unwrap_or_else(Utc::now));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let stderr = std::io::stderr();
    let mut err = std::io::LineWriter::new(stderr.lock());
    let mut tally = Tally::default();
    let mut write_error: Option<std::io::Error> = None;
    let mut line = Vec::with_capacity(1024);

    let read = stream::for_each_record(&args.input, args.format.into(), &args.id_field, |record| {
        match mapper.map(&record) {
            Desire::User(user) => {
                line.clear();
                let resource = resource_of(&user.mapped, user.active);
                let written = serde_json::to_writer(&mut line, &resource)
                    .map_err(std::io::Error::from)
                    .and_then(|()| {
                        line.push(b'\n');
                        out.write_all(&line)
                    });
                if let Err(e) = written {
                    write_error = Some(e);
                    return ControlFlow::Break(());
                }
                tally.written += 1;
            }
            Desire::OutOfScope => tally.out_of_scope += 1,
            Desire::Skipped(skip) => {
                tally.skipped += 1;
                let _ = writeln!(err, "skipped {}: {}", skip.user, skip.reason);
            }
        }
        ControlFlow::Continue(())
    });
    let flushed = out.flush();
    if let Some(e) = write_error.or(flushed.err()) {
        // A closed pipe (`scimsync map ... | head`) is the reader's choice, not a failure.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(CliError::Stdout(e));
    }
    let stats = read?;
    let _ = writeln!(
        err,
        "read {} users: {} written, {} skipped, {} out of scope",
        stats.records, tally.written, tally.skipped, tally.out_of_scope
    );
    Ok(ExitCode::SUCCESS)
}

/// The SCIM User resource for a mapped user, with `active` from the source unless a rule
/// writes it.
pub(crate) fn resource_of(mapped: &MappedUser, active: bool) -> serde_json::Value {
    let mut resource = user_resource(mapped.values.iter().map(|v| (&*v.path, &v.value)));
    if let Some(object) = resource.as_object_mut()
        && !object.keys().any(|k| k.eq_ignore_ascii_case("active"))
    {
        object.insert("active".into(), Value::Bool(active).to_json());
    }
    resource
}
