//! `scimsync eval`: one expression, one record, one JSON value out.

use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::error::CliError;
use scimsync_lang::mapping::diagnostic::{Code, Diagnostic};
use scimsync_lang::mapping::{self, Dialect, Env, SourceFile};
use scimsync_lang::record::Record;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The expression language: okta (classic EL), okta2 (Identity Engine EL v2) or entra.
    #[arg(long, value_parser = parse_dialect)]
    dialect: Dialect,
    /// The expression to evaluate.
    #[arg(long)]
    expr: String,
    /// The record as a JSON object; `user.X` and `[X]` read key X, `groups` lists group names.
    #[arg(long, default_value = "{}")]
    record: String,
    /// The current time for Time.now()/Now(), as RFC 3339.
    #[arg(long, value_parser = parse_now)]
    now: Option<DateTime<Utc>>,
}

/// A `--dialect` or `--now` clap cannot take (clap prints it as the usage error).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ArgError {
    #[error("unknown dialect `{0}` (expected okta, okta2 or entra)")]
    Dialect(String),
    #[error("`{text}` is not an RFC 3339 time: {source}")]
    Now {
        text: String,
        source: chrono::ParseError,
    },
}

fn parse_dialect(name: &str) -> Result<Dialect, ArgError> {
    Dialect::from_name(name).ok_or_else(|| ArgError::Dialect(name.to_owned()))
}

pub(crate) fn parse_now(text: &str) -> Result<DateTime<Utc>, ArgError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|source| ArgError::Now {
            text: text.to_owned(),
            source,
        })
}

pub fn run(args: EvalArgs) -> Result<ExitCode, CliError> {
    let record_json: serde_json::Value =
        serde_json::from_str(&args.record).map_err(CliError::RecordJson)?;
    let Some(object) = record_json.as_object() else {
        return Err(CliError::RecordNotObject);
    };
    let record = Record::from_flat_json(String::new(), object);
    let file = SourceFile::new("<expr>", args.expr.clone());
    let plan = match mapping::compile_expression(&args.expr, args.dialect) {
        Ok(plan) => plan,
        Err(diagnostics) => return Err(CliError::Diagnostics { diagnostics, file }),
    };
    if !plan.warnings.is_empty() {
        eprint!("{}", mapping::render_all(&plan.warnings, &file));
    }
    let env = Env::at(&record, args.now.unwrap_or_else(Utc::now));
    match plan.evaluate(&env) {
        Ok(value) => {
            println!("{}", value.to_json());
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Err(CliError::Diagnostics {
            diagnostics: vec![
                Diagnostic::error(Code::Evaluation, error.span, error.message).label("failed here"),
            ],
            file,
        }),
    }
}
