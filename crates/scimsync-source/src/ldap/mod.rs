//! LDAP directories (OpenLDAP, 389, Active Directory) through the `ldap3` crate.
//!
//! ```text
//! settings ─▶ connect (TLS, bind) ─▶ search (paged) ─▶ values (decode) ─▶ groups ─▶ Directory
//! ```
//!
//! A read either returns every user or fails: a refused connection, a failed bind, a search
//! that ends with anything but success, a referral we cannot follow, a connection that drops
//! between pages. None of those may look like "these users left".

pub mod connect;
pub mod global_catalog;
pub mod groups;
pub mod search;
pub mod settings;
pub mod values;

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{Directory, Projection};
use groups::{GroupEntry, Memberships};
use scimsync_lang::record::{Attrs, Record};
use scimsync_lang::value::Value;
use scimsync_secure::secret::SecretError;
use search::{AsyncEntrySink, Entry, Query};
use settings::{LdapConfig, Membership};
use values::{AccountStatus, BinaryKind, STATUS_ATTRIBUTES};

#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    #[error("cannot connect to LDAP server {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("LDAP TLS setup: {reason}")]
    Tls { reason: String },
    #[error("LDAP bind as {dn} at {url} failed: {reason}")]
    Bind {
        url: String,
        dn: String,
        reason: String,
    },
    #[error("LDAP bind password: {0}")]
    Secret(#[from] SecretError),
    #[error("LDAP search for {what} under {base} failed: {reason}")]
    Search {
        what: &'static str,
        base: String,
        reason: String,
    },
    #[error("LDAP entry {dn}: {reason}")]
    Entry { dn: String, reason: String },
    #[error("LDAP: two entries have the identity `{id}`: {first} and {second}")]
    DuplicateIdentity {
        id: String,
        first: String,
        second: String,
    },
    #[error("cannot start the LDAP client: {0}")]
    Runtime(String),
}

/// The operational attributes that identify an entry for good, tried in this order when
/// `id_attribute = "auto"`.
const AUTO_IDENTITY: &[&str] = &["objectGUID", "entryUUID"];

/// Reads every user (and, when asked, every group) the configuration selects.
pub async fn read(
    config: &LdapConfig,
    projection: &Projection,
    now: DateTime<Utc>,
) -> Result<Directory, LdapError> {
    let mut users = Vec::new();
    let groups = read_users(config, projection, now, &mut users).await?;
    Ok(Directory { users, groups })
}

/// Where [`read_users`] hands each user, its groups set, as soon as its entry is read.
pub trait UserDelivery {
    fn user(&mut self, record: Record) -> impl std::future::Future<Output = Result<(), LdapError>>;
}

/// Keeps every user: the whole directory at once.
impl UserDelivery for Vec<Record> {
    async fn user(&mut self, record: Record) -> Result<(), LdapError> {
        self.push(record);
        Ok(())
    }
}

/// Reads every user the configuration selects and hands each one to `delivery` as it comes,
/// with its groups resolved; returns the groups (when asked) once the search is complete.
/// Users already delivered when this fails are part of an incomplete read, which the caller
/// must discard.
pub async fn read_users<D: UserDelivery>(
    config: &LdapConfig,
    projection: &Projection,
    now: DateTime<Utc>,
    delivery: &mut D,
) -> Result<Vec<crate::Group>, LdapError> {
    let password = config
        .password_source()
        .map_err(|reason| LdapError::Connect {
            url: config.url.clone(),
            reason: reason.to_string(),
        })?;
    let password = password.map(|source| source.load()).transpose()?;
    warn_if_cleartext(config);
    let mut conn = connect::open(config, password.as_ref()).await?;
    let resolve_groups = projection.groups && config.groups.membership != Membership::None;

    // Group entries first: with them (or with memberOf alone) each user's groups are known
    // the moment its entry arrives.
    let group_entries = match (&config.groups.base_dn, resolve_groups) {
        (Some(base), true) => Some(read_groups(&mut conn, config, base).await?),
        _ => None,
    };
    let memberships = resolve_groups.then(|| {
        Memberships::new(
            config.groups.membership,
            config.groups.nesting,
            group_entries,
            projection.group_members,
        )
    });
    let plan = UserAttributes::new(config, projection, resolve_groups);
    global_catalog::warn_if_missing(&config.url, &plan.request);
    let mut sink = UserSink {
        config,
        plan: &plan,
        now,
        ldap: conn.ldap.clone(),
        timeout: conn.timeout,
        memberships,
        seen: HashSet::new(),
        delivery,
    };
    let query = Query {
        base: &config.base_dn,
        scope: config.scope,
        filter: &config.filter,
        attributes: &plan.request,
        page_size: config.page_size,
        referrals: config.referrals,
        what: "users",
    };
    search::paged(&mut conn, &query, &mut sink).await?;
    let memberships = sink.memberships;
    let _ = conn.ldap.unbind().await;
    Ok(memberships
        .map(Memberships::into_groups)
        .unwrap_or_default())
}

/// A bind password over plain LDAP to another machine is readable by anyone on the path.
fn warn_if_cleartext(config: &LdapConfig) {
    let plain = config.url.starts_with("ldap://") && !config.starttls;
    let loopback = url::Url::parse(&config.url).is_ok_and(|u| {
        matches!(
            u.host_str(),
            Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
        )
    });
    if plain && config.bind_dn.is_some() && !loopback {
        tracing::warn!(url = %config.url, "the bind password is sent unencrypted: use ldaps:// or starttls = true");
    }
}

async fn read_groups(
    conn: &mut connect::Connection,
    config: &LdapConfig,
    base: &str,
) -> Result<Vec<GroupEntry>, LdapError> {
    let groups = &config.groups;
    let mut request: Vec<String> = vec![
        groups.name_attribute.clone(),
        groups.member_attribute.clone(),
        "memberOf".into(),
        "description".into(),
    ];
    push_identity_attributes(&mut request, &config.id_attribute);
    let mut sink = GroupSink {
        config,
        ldap: conn.ldap.clone(),
        timeout: conn.timeout,
        groups: Vec::new(),
    };
    let query = Query {
        base,
        scope: settings::SearchScope::Sub,
        filter: &groups.filter,
        attributes: &request,
        page_size: config.page_size,
        referrals: config.referrals,
        what: "groups",
    };
    search::paged(conn, &query, &mut sink).await?;
    Ok(sink.groups)
}

fn push_identity_attributes(request: &mut Vec<String>, id_attribute: &str) {
    if id_attribute.eq_ignore_ascii_case("auto") {
        request.extend(AUTO_IDENTITY.iter().map(|a| (*a).to_owned()));
    } else {
        request.push(id_attribute.to_owned());
    }
}

/// The stable identity of an entry, and the attribute it was read from.
fn identity<'a>(entry: &Entry, id_attribute: &'a str) -> Result<(&'a str, String), LdapError> {
    let candidates: Vec<&str> = if id_attribute.eq_ignore_ascii_case("auto") {
        AUTO_IDENTITY.to_vec()
    } else {
        vec![id_attribute]
    };
    for &name in &candidates {
        if let Some(value) = entry.values(name).and_then(|v| v.first()) {
            return text_value(name, value)
                .map(|id| (name, id))
                .map_err(|reason| LdapError::Entry {
                    dn: entry.dn.clone(),
                    reason: format!("identity attribute {name}: {reason}"),
                });
        }
    }
    Err(LdapError::Entry {
        dn: entry.dn.clone(),
        reason: format!(
            "has no {} to identify it by; set id_attribute to an attribute every entry has and no rename changes",
            candidates.join(" or ")
        ),
    })
}

/// One value as text: binary identifiers decoded, other bytes as UTF-8.
fn text_value(name: &str, bytes: &[u8]) -> Result<String, values::ValueError> {
    match values::binary_kind(name) {
        Some(kind) => values::decode_binary(kind, bytes),
        None => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            // Not declared binary but not text either: keep it, readable and lossless.
            Err(_) => values::decode_binary(BinaryKind::Opaque, bytes),
        },
    }
}

/// Which attributes to ask for, and under which names the mapping reads them.
struct UserAttributes {
    /// Sent to the server.
    request: Vec<String>,
    /// The names records use for the attributes the mapping reads (matched to the server's
    /// spelling case-insensitively); `None` keeps everything the server returns under the
    /// server's spelling. A short list: scanning it costs less per attribute than hashing a
    /// lower-cased copy of every name the server sends.
    keep: Option<Vec<String>>,
    /// Whether the mapping asked for the entry's DN (`user.dn`).
    keep_dn: bool,
    /// The user attribute that group member values point at (`memberUid` → `uid`).
    member_key: MemberKey,
    read_member_of: bool,
}

/// How a group's member values name a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKey {
    Dn,
    Uid,
}

impl UserAttributes {
    fn new(config: &LdapConfig, projection: &Projection, resolve_groups: bool) -> UserAttributes {
        let mut request: Vec<String> = Vec::new();
        let mut keep = None;
        let mut keep_dn = false;
        match &projection.attributes {
            Some(names) => {
                let mut kept: Vec<String> = Vec::new();
                for name in names.iter().chain(config.attributes.iter()) {
                    if name.eq_ignore_ascii_case("dn") {
                        keep_dn = true;
                        continue;
                    }
                    // Two spellings of one name: the later one wins, as it did in a map.
                    kept.retain(|k| !k.eq_ignore_ascii_case(name));
                    kept.push(name.clone());
                    request.push(name.clone());
                }
                keep = Some(kept);
            }
            None => {
                keep_dn = true;
                request.push("*".into());
                request.extend(config.attributes.iter().cloned());
            }
        }
        push_identity_attributes(&mut request, &config.id_attribute);
        request.extend(STATUS_ATTRIBUTES.iter().map(|a| (*a).to_owned()));
        let member_key = if config
            .groups
            .member_attribute
            .eq_ignore_ascii_case("memberUid")
        {
            MemberKey::Uid
        } else {
            MemberKey::Dn
        };
        let read_member_of = resolve_groups && config.groups.membership == Membership::MemberOf;
        if read_member_of {
            request.push("memberOf".into());
        }
        if resolve_groups && member_key == MemberKey::Uid {
            request.push("uid".into());
        }
        let mut seen = std::collections::HashSet::new();
        request.retain(|a| seen.insert(a.to_ascii_lowercase()));
        UserAttributes {
            request,
            keep,
            keep_dn,
            member_key,
            read_member_of,
        }
    }

    /// The record name of a returned attribute, or `None` when the mapping does not read it.
    fn record_name<'a>(&'a self, server_name: &'a str) -> Option<&'a str> {
        match &self.keep {
            None => Some(server_name),
            Some(kept) => kept
                .iter()
                .find(|k| k.eq_ignore_ascii_case(server_name))
                .map(String::as_str),
        }
    }
}

struct UserSink<'a, D> {
    config: &'a LdapConfig,
    plan: &'a UserAttributes,
    now: DateTime<Utc>,
    ldap: ldap3::Ldap,
    timeout: std::time::Duration,
    /// `None` when no groups are resolved.
    memberships: Option<Memberships>,
    /// Hashes of the identities seen, to refuse two entries with one identity without keeping
    /// a second copy of every id (users are handed on as they are read).
    seen: HashSet<u64>,
    delivery: &'a mut D,
}

impl<D: UserDelivery> AsyncEntrySink for &mut UserSink<'_, D> {
    async fn entry(&mut self, mut entry: Entry) -> Result<(), LdapError> {
        complete_ranges(&mut self.ldap, self.timeout, &mut entry).await?;
        let (id_attribute, id) = identity(&entry, &self.config.id_attribute)?;
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&id, &mut hasher);
        if !self.seen.insert(std::hash::Hasher::finish(&hasher)) {
            let first = self.earlier_entry(&entry, id_attribute).await;
            return Err(LdapError::DuplicateIdentity {
                id,
                first,
                second: entry.dn,
            });
        }
        let status = AccountStatus {
            user_account_control: entry.first_text("userAccountControl"),
            account_expires: entry.first_text("accountExpires"),
            ns_account_lock: entry.first_text("nsAccountLock"),
            pwd_account_locked_time: entry.first_text("pwdAccountLockedTime"),
            shadow_expire: entry.first_text("shadowExpire"),
        };
        let active = status.active(self.now).map_err(|reason| LdapError::Entry {
            dn: entry.dn.clone(),
            reason: reason.to_string(),
        })?;
        let groups = match &mut self.memberships {
            Some(memberships) => {
                let keys = groups::UserKeys {
                    dn: (self.plan.member_key == MemberKey::Dn
                        && self.config.groups.membership == Membership::Search)
                        .then(|| groups::normalize_dn(&entry.dn)),
                    uid: match self.plan.member_key {
                        MemberKey::Uid => entry.first_text("uid"),
                        MemberKey::Dn => None,
                    },
                    member_of: if self.plan.read_member_of {
                        entry
                            .values("memberOf")
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|v| std::str::from_utf8(v).ok())
                            .collect()
                    } else {
                        Vec::new()
                    },
                };
                memberships.resolve(&id, &keys)
            }
            None => Vec::new(),
        };
        let mut attrs = Attrs::new();
        if self.plan.keep_dn {
            attrs.insert("dn".to_owned(), Value::Str(entry.dn.clone()));
        }
        for (name, raw) in entry.attributes {
            let Some(record_name) = self.plan.record_name(&name) else {
                continue;
            };
            let value = attribute_value(record_name, raw).map_err(|reason| LdapError::Entry {
                dn: entry.dn.clone(),
                reason: format!("attribute {name}: {reason}"),
            })?;
            // The server's spelling is almost always the mapping's: keep its string.
            let record_name = if record_name == name {
                name
            } else {
                record_name.to_owned()
            };
            attrs.insert(record_name, value);
        }
        self.delivery
            .user(Record {
                id,
                attrs,
                groups,
                group_ids: Vec::new(),
                active,
            })
            .await
    }
}

impl<D> UserSink<'_, D> {
    /// The DN of the entry read earlier with the same identity as `entry`, for the message:
    /// users are not kept, so it is searched for again (once, on the way to an error).
    async fn earlier_entry(&mut self, entry: &Entry, id_attribute: &str) -> String {
        let unknown = || "an entry read earlier".to_owned();
        let Some(raw) = entry.values(id_attribute).and_then(|v| v.first()) else {
            return unknown();
        };
        // The configured filter is parenthesised (the config is refused otherwise).
        let filter = format!(
            "(&{}({id_attribute}={}))",
            self.config.filter.trim(),
            search::escape_filter_value(raw)
        );
        match search::find_dns(
            &mut self.ldap,
            self.timeout,
            &self.config.base_dn,
            self.config.scope,
            &filter,
        )
        .await
        {
            Ok(dns) => dns
                .into_iter()
                .find(|dn| dn != &entry.dn)
                .unwrap_or_else(unknown),
            Err(_) => unknown(),
        }
    }
}

/// The record value of one attribute: one value as itself, several as a list.
fn attribute_value(name: &str, raw: Vec<Vec<u8>>) -> Result<Value, values::ValueError> {
    if name.eq_ignore_ascii_case("accountExpires") {
        let text = raw.first().map(|v| String::from_utf8_lossy(v).into_owned());
        return Ok(text.map_or(Value::Null, |t| values::account_expires_value(&t)));
    }
    let binary = values::binary_kind(name);
    let one = |bytes: Vec<u8>| -> Result<Value, values::ValueError> {
        match binary {
            Some(kind) => values::decode_binary(kind, &bytes).map(Value::Str),
            None => match String::from_utf8(bytes) {
                Ok(text) => Ok(Value::Str(text)),
                Err(e) => values::decode_binary(BinaryKind::Opaque, e.as_bytes()).map(Value::Str),
            },
        }
    };
    if raw.len() == 1 {
        let bytes = raw.into_iter().next().unwrap_or_default();
        return one(bytes);
    }
    raw.into_iter()
        .map(one)
        .collect::<Result<Vec<_>, _>>()
        .map(Value::List)
}

/// Active Directory returns at most 1,500 values of a large attribute (`member;range=0-1499`)
/// and expects the client to ask for the rest; this asks until the server says `*`.
async fn complete_ranges(
    ldap: &mut ldap3::Ldap,
    timeout: std::time::Duration,
    entry: &mut Entry,
) -> Result<(), LdapError> {
    let partial: Vec<usize> = entry
        .attributes
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| values::range_step(name).is_some())
        .map(|(i, _)| i)
        .collect();
    for index in partial {
        let (description, _) = &entry.attributes[index];
        let Some(step) = values::range_step(description) else {
            continue;
        };
        let attribute = step.attribute.to_owned();
        let mut next = step.next_start;
        // Bounded: each round must move forward; a server that repeats itself stops us.
        let mut rounds = 0usize;
        while let Some(start) = next {
            rounds += 1;
            if rounds > 100_000 {
                return Err(LdapError::Entry {
                    dn: entry.dn.clone(),
                    reason: format!("range retrieval of {attribute} does not end"),
                });
            }
            let wanted = vec![format!("{attribute};range={start}-*")];
            let more = search::read_entry(ldap, timeout, &entry.dn, &wanted).await?;
            let Some((name, values)) = more.attributes.into_iter().find(|(n, _)| {
                values::range_step(n).is_some_and(|s| s.attribute.eq_ignore_ascii_case(&attribute))
            }) else {
                return Err(LdapError::Entry {
                    dn: entry.dn.clone(),
                    reason: format!("range retrieval of {attribute} from {start} returned nothing"),
                });
            };
            let step = values::range_step(&name);
            next = step.and_then(|s| s.next_start).filter(|n| *n > start);
            if step.is_some_and(|s| s.next_start.is_some()) && next.is_none() {
                return Err(LdapError::Entry {
                    dn: entry.dn.clone(),
                    reason: format!("range retrieval of {attribute} went backwards at {start}"),
                });
            }
            entry.attributes[index].1.extend(values);
        }
        entry.attributes[index].0 = attribute;
    }
    Ok(())
}

struct GroupSink<'a> {
    config: &'a LdapConfig,
    ldap: ldap3::Ldap,
    timeout: std::time::Duration,
    groups: Vec<GroupEntry>,
}

impl AsyncEntrySink for &mut GroupSink<'_> {
    async fn entry(&mut self, mut entry: Entry) -> Result<(), LdapError> {
        complete_ranges(&mut self.ldap, self.timeout, &mut entry).await?;
        let (_, id) = identity(&entry, &self.config.id_attribute)?;
        let groups = &self.config.groups;
        let name = entry
            .first_text(&groups.name_attribute)
            .map(str::to_owned)
            .unwrap_or_else(|| groups::rdn_value(&entry.dn));
        let texts = |attr: &str| -> Vec<String> {
            entry
                .values(attr)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| std::str::from_utf8(v).ok())
                .map(str::to_owned)
                .collect()
        };
        let members = texts(&groups.member_attribute);
        let member_of = texts("memberOf");
        let mut attrs = Attrs::new();
        if let Some(description) = entry.first_text("description") {
            attrs.insert("description".to_owned(), Value::from(description));
        }
        attrs.insert("dn".to_owned(), Value::Str(entry.dn.clone()));
        self.groups.push(GroupEntry {
            id,
            dn: entry.dn.clone(),
            name,
            attrs,
            members,
            member_of,
            member_key: if groups.member_attribute.eq_ignore_ascii_case("memberUid") {
                MemberKey::Uid
            } else {
                MemberKey::Dn
            },
        });
        Ok(())
    }
}
