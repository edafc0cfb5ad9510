//! Paged searches (RFC 2696), entry by entry, with every way a search can end short turned
//! into an error: a result code other than success, a referral we do not follow, a connection
//! that drops between pages, a server that stops answering.

use ldap3::Scope;
use ldap3::asn1::{PL, StructureTag, parse_tag};
use ldap3::controls::{Control, ControlType, PagedResults, RawControl};
use ldap3::{Ldap, SearchOptions};

use super::LdapError;
use super::connect::{Connection, describe, result_text};
use super::settings::{ReferralPolicy, SearchScope};

/// One entry as the server sent it: attribute descriptions (as spelt by the server) and raw
/// values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    pub dn: String,
    pub attributes: Vec<(String, Vec<Vec<u8>>)>,
}

impl Entry {
    /// The values of `name` (case-insensitive; options such as `;range=` are not stripped).
    pub fn values(&self, name: &str) -> Option<&[Vec<u8>]> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name` as text.
    pub fn first_text(&self, name: &str) -> Option<&str> {
        self.values(name)
            .and_then(|v| v.first())
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// What to search for.
pub struct Query<'a> {
    pub base: &'a str,
    pub scope: SearchScope,
    pub filter: &'a str,
    pub attributes: &'a [String],
    pub page_size: u32,
    pub referrals: ReferralPolicy,
    /// What the entries are, for messages ("users", "groups").
    pub what: &'static str,
}

pub(crate) fn scope(scope: SearchScope) -> Scope {
    match scope {
        SearchScope::Base => Scope::Base,
        SearchScope::One => Scope::OneLevel,
        SearchScope::Sub => Scope::Subtree,
    }
}

/// Runs a paged search and hands every entry to `each`, in server order. Returns the number
/// of entries; any error means the read is incomplete and must not be used.
pub async fn paged<F>(
    conn: &mut Connection,
    query: &Query<'_>,
    mut each: F,
) -> Result<usize, LdapError>
where
    F: AsyncEntrySink,
{
    let mut cookie: Vec<u8> = Vec::new();
    let mut count = 0usize;
    let mut pages = 0usize;
    let failed = |reason: String| LdapError::Search {
        what: query.what,
        base: query.base.to_owned(),
        reason,
    };
    let time_limit = i32::try_from(conn.timeout.as_secs()).unwrap_or(i32::MAX);
    loop {
        let control: RawControl = PagedResults {
            size: i32::try_from(query.page_size).unwrap_or(i32::MAX),
            cookie: std::mem::take(&mut cookie),
        }
        .into();
        let mut stream = conn
            .ldap
            .with_controls(control)
            .with_timeout(conn.timeout)
            .with_search_options(SearchOptions::new().timelimit(time_limit))
            .streaming_search(
                query.base,
                scope(query.scope),
                query.filter,
                query.attributes,
            )
            .await
            .map_err(|e| failed(describe(&e)))?;
        loop {
            let next = stream.next().await.map_err(|e| failed(describe(&e)))?;
            let Some(item) = next else { break };
            if item.is_ref() {
                let urls = referral_urls(item.0);
                match query.referrals {
                    ReferralPolicy::Ignore => {
                        tracing::info!(urls = ?urls, "ignored a search continuation reference (referrals = \"ignore\")");
                        continue;
                    }
                    ReferralPolicy::Fail => {
                        return Err(failed(format!(
                            "the server referred part of the search to {} which scimsync does not follow; point base_dn at the partition that holds the {}, or set referrals = \"ignore\" if the referred partitions hold none",
                            urls.join(", "),
                            query.what
                        )));
                    }
                }
            }
            let entry = decode_entry(item.0)
                .ok_or_else(|| failed("the server sent a malformed entry".into()))?;
            each.entry(entry).await?;
            count += 1;
        }
        let result = stream.finish().await;
        pages += 1;
        if result.rc == 10 {
            return Err(failed(format!(
                "the server answered with a referral to {} which scimsync does not follow",
                result.refs.join(", ")
            )));
        }
        if result.rc != 0 {
            return Err(failed(format!(
                "{} after {count} entries; the read is incomplete",
                result_text(result.rc, &result.text)
            )));
        }
        let next_cookie = result.ctrls.iter().find_map(|Control(kind, raw)| {
            matches!(kind, Some(ControlType::PagedResults)).then(|| paged_cookie(raw))
        });
        match next_cookie {
            // No paged-results response: the server ignored the (non-critical) control and
            // returned everything in one go, which succeeded.
            None => break,
            Some(None) => {
                return Err(failed(
                    "the server sent a malformed paged-results control".into(),
                ));
            }
            Some(Some(next)) if next.is_empty() => break,
            Some(Some(next)) => cookie = next,
        }
    }
    tracing::debug!(what = query.what, entries = count, pages, "search complete");
    Ok(count)
}

/// Receives entries from [`paged`]; async so a receiver can ask the server for more (range
/// retrieval) before the next entry.
pub trait AsyncEntrySink {
    fn entry(&mut self, entry: Entry) -> impl std::future::Future<Output = Result<(), LdapError>>;
}

/// A base-scope read of one entry (range retrieval continues this way).
pub async fn read_entry(
    ldap: &mut Ldap,
    timeout: std::time::Duration,
    dn: &str,
    attributes: &[String],
) -> Result<Entry, LdapError> {
    let failed = |reason: String| LdapError::Search {
        what: "entry",
        base: dn.to_owned(),
        reason,
    };
    let mut stream = ldap
        .with_timeout(timeout)
        .streaming_search(dn, Scope::Base, "(objectClass=*)", attributes)
        .await
        .map_err(|e| failed(describe(&e)))?;
    let mut found = None;
    while let Some(item) = stream.next().await.map_err(|e| failed(describe(&e)))? {
        if !item.is_ref() {
            found = decode_entry(item.0);
        }
    }
    let result = stream.finish().await;
    if result.rc != 0 {
        return Err(failed(result_text(result.rc, &result.text)));
    }
    found.ok_or_else(|| failed("the entry was not returned".into()))
}

/// The DNs of the entries `filter` selects under `base` (no attributes are fetched).
pub async fn find_dns(
    ldap: &mut Ldap,
    timeout: std::time::Duration,
    base: &str,
    search_scope: SearchScope,
    filter: &str,
) -> Result<Vec<String>, LdapError> {
    let failed = |reason: String| LdapError::Search {
        what: "entries",
        base: base.to_owned(),
        reason,
    };
    // "1.1": no attributes (RFC 4511 §4.5.1.8).
    let mut stream = ldap
        .with_timeout(timeout)
        .streaming_search(base, scope(search_scope), filter, vec!["1.1"])
        .await
        .map_err(|e| failed(describe(&e)))?;
    let mut dns = Vec::new();
    while let Some(item) = stream.next().await.map_err(|e| failed(describe(&e)))? {
        if let Some(entry) = (!item.is_ref()).then(|| decode_entry(item.0)).flatten() {
            dns.push(entry.dn);
        }
    }
    let result = stream.finish().await;
    if result.rc != 0 {
        return Err(failed(result_text(result.rc, &result.text)));
    }
    Ok(dns)
}

/// A value for an equality filter, every byte escaped as `\hh` (RFC 4515): right for text
/// and binary values (`objectGUID`) alike.
pub fn escape_filter_value(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// The cookie of a paged-results response control value; `None` if it is malformed.
fn paged_cookie(raw: &RawControl) -> Option<Vec<u8>> {
    let (_, tag) = parse_tag(raw.val.as_deref()?).ok()?;
    let mut parts = tag.expect_constructed()?.into_iter();
    let _size = parts.next()?;
    parts.next()?.expect_primitive()
}

/// SearchResultEntry ::= [APPLICATION 4] SEQUENCE { objectName, attributes }
fn decode_entry(tag: StructureTag) -> Option<Entry> {
    let mut parts = tag.match_id(4)?.expect_constructed()?.into_iter();
    let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
    let list = parts.next()?.expect_constructed()?;
    // Sized once: growing it entry after entry was a measurable share of the read.
    let mut attributes = Vec::with_capacity(list.len());
    for attribute in list {
        let mut pieces = attribute.expect_constructed()?.into_iter();
        let name = String::from_utf8(pieces.next()?.expect_primitive()?).ok()?;
        let values = pieces
            .next()?
            .expect_constructed()?
            .into_iter()
            .map(|v| match v.payload {
                PL::P(bytes) => Some(bytes),
                PL::C(_) => None,
            })
            .collect::<Option<Vec<_>>>()?;
        attributes.push((name, values));
    }
    Some(Entry { dn, attributes })
}

/// SearchResultReference ::= [APPLICATION 19] SEQUENCE OF uri
fn referral_urls(tag: StructureTag) -> Vec<String> {
    tag.expect_constructed()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| t.expect_primitive())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}
