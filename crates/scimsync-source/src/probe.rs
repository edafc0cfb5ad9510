//! A quick look at the source, for `check --online`: a directory is bound to with the
//! configured credentials and one page of users is read; an export is opened and its first
//! user parsed. Nothing is mapped or kept: this proves the source answers, not what it holds.

use ldap3::controls::{PagedResults, RawControl};

use super::SourceError;
use super::json::RecordStream;
use super::ldap::LdapError;
use super::ldap::connect::{self, result_text};
use super::ldap::settings::LdapConfig;
use crate::SourceConfig;

/// What the look found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Bound as `bind` (`None`: anonymously) and read `users` entries of the first page.
    Directory {
        url: String,
        bind: Option<String>,
        users: usize,
    },
    /// Opened the export; `first_user` is the id of its first user, if it has any.
    Export {
        path: String,
        first_user: Option<String>,
    },
}

impl Probe {
    /// One line for `check --online`.
    pub fn message(&self) -> String {
        match self {
            Probe::Directory { url, bind, users } => format!(
                "source {url}: bound as {}, read {users} user(s) of the first page",
                bind.as_deref().unwrap_or("anonymous")
            ),
            Probe::Export { path, first_user } => match first_user {
                Some(id) => format!("source {path}: readable, first user {id}"),
                None => format!("source {path}: readable, no users"),
            },
        }
    }
}

/// Binds to (or opens) the source and reads its first page of users.
pub async fn probe(config: &SourceConfig) -> Result<Probe, SourceError> {
    match config {
        SourceConfig::Json(json) => {
            let first = RecordStream::open(json)?.next().transpose()?;
            Ok(Probe::Export {
                path: json.path.display().to_string(),
                first_user: first.map(|r| r.id),
            })
        }
        SourceConfig::Ldap(ldap) => Ok(first_page(ldap).await?),
    }
}

/// Binds and runs the configured user search for one page, asking for no attributes (`1.1`).
async fn first_page(config: &LdapConfig) -> Result<Probe, LdapError> {
    let password = config
        .password_source()
        .map_err(|reason| LdapError::Connect {
            url: config.url.clone(),
            reason: reason.to_string(),
        })?
        .map(|source| source.load())
        .transpose()?;
    let mut conn = connect::open(config, password.as_ref()).await?;
    let failed = |reason: String| LdapError::Search {
        what: "users",
        base: config.base_dn.clone(),
        reason,
    };
    let page: RawControl = PagedResults {
        size: i32::try_from(config.page_size).unwrap_or(i32::MAX),
        cookie: Vec::new(),
    }
    .into();
    let result = conn
        .ldap
        .with_controls(page)
        .with_timeout(conn.timeout)
        .search(
            &config.base_dn,
            super::ldap::search::scope(config.scope),
            &config.filter,
            vec!["1.1"],
        )
        .await
        .map_err(|e| failed(connect::describe(&e)))?;
    let _ = conn.ldap.unbind().await;
    let (entries, outcome) = (result.0, result.1);
    // 4 (sizeLimitExceeded): the server capped the page, which is a page all the same.
    if !matches!(outcome.rc, 0 | 4) {
        return Err(failed(result_text(outcome.rc, &outcome.text)));
    }
    Ok(Probe::Directory {
        url: config.url.clone(),
        bind: config.bind_dn.clone(),
        users: entries.len(),
    })
}
