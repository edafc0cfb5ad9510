//! The `[source] kind = "ldap"` settings: where the directory is, how to reach it safely, and
//! which entries are users and groups.
//!
//! ```toml
//! [source]
//! kind = "ldap"
//! url = "ldaps://dc1.corp.example.com"        # or ldap://host:389 with starttls = true
//! ca_file = "corp-root-ca.pem"
//! bind_dn = "CN=svc-scimsync,OU=Service,DC=corp,DC=example,DC=com"
//! bind_password_env = "LDAP_PASSWORD"         # or bind_password_file / bind_password_credential
//! base_dn = "OU=Staff,DC=corp,DC=example,DC=com"
//! filter = "(&(objectCategory=person)(objectClass=user))"
//!
//! [source.groups]
//! membership = "member_of"
//! base_dn = "OU=Groups,DC=corp,DC=example,DC=com"
//! nesting = "flatten"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use scimsync_secure::secret::SecretSource;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// PEM file with the CA certificate(s) that signed the server's certificate. Without it
    /// the system's trust store is used.
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate. Only for a lab: anyone on the path can read the bind
    /// password and forge the directory. Logged as a warning on every run.
    #[serde(default)]
    pub danger_accept_invalid_certs: bool,
    /// The DN to bind as; without it the bind is anonymous.
    pub bind_dn: Option<String>,
    pub bind_password_env: Option<String>,
    pub bind_password_file: Option<PathBuf>,
    /// A systemd credential (`LoadCredential=NAME:...`) that holds the bind password.
    pub bind_password_credential: Option<String>,
    /// Where users are searched.
    pub base_dn: String,
    #[serde(default)]
    pub scope: SearchScope,
    /// Which entries are users.
    #[serde(default = "default_user_filter")]
    pub filter: String,
    /// Entries per page (RFC 2696 paged results are always used). Active Directory caps a
    /// page at 1,000 entries.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: u64,
    /// The longest wait for any one server response (a bind, a page of results).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// The attribute that identifies a user for good: `auto` (objectGUID, else entryUUID),
    /// or any attribute name whose value never changes for a person.
    #[serde(default = "default_id_attribute")]
    pub id_attribute: String,
    /// Attributes fetched in addition to the ones the mapping reads.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// What to do with a search continuation reference (a referral to another server or
    /// partition): `fail` (default) or `ignore`. Active Directory returns such references
    /// for its DNS partitions when the base is the domain root.
    #[serde(default)]
    pub referrals: ReferralPolicy,
    #[serde(default)]
    pub groups: GroupsConfig,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SearchScope {
    Base,
    #[serde(alias = "onelevel")]
    One,
    #[default]
    #[serde(alias = "subtree")]
    Sub,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReferralPolicy {
    #[default]
    Fail,
    Ignore,
}

/// How group memberships are found.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// The user's `memberOf` attribute (Active Directory; OpenLDAP with the memberof overlay).
    #[default]
    MemberOf,
    /// Searching group entries and reading their member attribute.
    Search,
    /// No groups at all.
    None,
}

/// Whether a member of a nested group counts as a member of the outer group.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Nesting {
    /// Only groups a user is directly a member of.
    #[default]
    Direct,
    /// Every group reachable through nested groups; cycles are cut.
    Flatten,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupsConfig {
    #[serde(default)]
    pub membership: Membership,
    /// Where group entries are searched. Required for `membership = "search"` and for
    /// `nesting = "flatten"`; with `member_of` alone, groups are named from their DN.
    pub base_dn: Option<String>,
    #[serde(default = "default_group_filter")]
    pub filter: String,
    /// `member` (DNs), `uniqueMember` (DNs, optionally `#uid`), or `memberUid` (uid values).
    #[serde(default = "default_member_attribute")]
    pub member_attribute: String,
    /// The attribute that names a group (its `isMemberOfGroupName` name).
    #[serde(default = "default_group_name_attribute")]
    pub name_attribute: String,
    #[serde(default)]
    pub nesting: Nesting,
}

impl Default for GroupsConfig {
    fn default() -> Self {
        GroupsConfig {
            membership: Membership::default(),
            base_dn: None,
            filter: default_group_filter(),
            member_attribute: default_member_attribute(),
            name_attribute: default_group_name_attribute(),
            nesting: Nesting::default(),
        }
    }
}

fn default_user_filter() -> String {
    "(objectClass=person)".into()
}

fn default_group_filter() -> String {
    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)(objectClass=group))".into()
}

fn default_member_attribute() -> String {
    "member".into()
}

fn default_group_name_attribute() -> String {
    "cn".into()
}

fn default_page_size() -> u32 {
    500
}

fn default_connect_timeout() -> u64 {
    10
}

fn default_timeout() -> u64 {
    60
}

fn default_id_attribute() -> String {
    "auto".into()
}

/// LDAP source settings that cannot work, each naming the key to fix. Rendered as the config
/// error's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LdapSettingsError {
    #[error("[source] a bind password is set but `bind_dn` is not")]
    PasswordWithoutBindDn,
    #[error(
        "[source] `bind_dn` needs one of `bind_password_env`, `bind_password_file` or `bind_password_credential`"
    )]
    BindDnWithoutPassword,
    #[error(
        "[source] takes only one of `bind_password_env`, `bind_password_file` and `bind_password_credential`"
    )]
    SeveralPasswords,
    #[error("[source] url `{url}` is not a URL: {reason}")]
    NotAUrl {
        url: String,
        reason: url::ParseError,
    },
    #[error("[source] `starttls` is for ldap:// URLs; ldaps:// is TLS from the start")]
    StartTlsOnLdaps,
    #[error("[source] url `{url}`: scheme `{scheme}` is not ldap:// or ldaps://")]
    Scheme { url: String, scheme: String },
    #[error("[source] url `{0}` has no host")]
    NoHost(String),
    #[error(
        "[source] url must not carry credentials; use bind_dn and bind_password_env, bind_password_file or bind_password_credential"
    )]
    CredentialsInUrl,
    #[error("[source] page_size, connect_timeout_seconds and timeout_seconds must be at least 1")]
    ZeroLimit,
    #[error("[source] page_size is too large")]
    PageSizeTooLarge,
    #[error("{table} filter `{filter}` is not a valid LDAP filter")]
    Filter { table: &'static str, filter: String },
    #[error(
        "[source.groups] {key} `{name}`: give the attribute name alone (`{attribute}`); options such as `;{options}` are not allowed (scimsync asks for a large attribute's ranges itself)"
    )]
    AttributeOptions {
        key: &'static str,
        name: String,
        attribute: String,
        options: String,
    },
    #[error("[source.groups] {key} `{name}` is not an LDAP attribute name")]
    NotAnAttributeName { key: &'static str, name: String },
    #[error(
        "[source.groups] membership = \"search\" needs `base_dn` (where the group entries are)"
    )]
    SearchWithoutBaseDn,
    #[error(
        "[source.groups] nesting = \"flatten\" needs `base_dn`: nested groups are found by reading the group entries"
    )]
    FlattenWithoutBaseDn,
}

impl LdapConfig {
    /// Where the bind password comes from; `None` for an anonymous bind.
    pub fn password_source(&self) -> Result<Option<SecretSource>, LdapSettingsError> {
        let sources: Vec<SecretSource> = [
            self.bind_password_env.clone().map(SecretSource::Env),
            self.bind_password_file.clone().map(SecretSource::File),
            self.bind_password_credential
                .clone()
                .map(SecretSource::Credential),
        ]
        .into_iter()
        .flatten()
        .collect();
        match (self.bind_dn.is_some(), sources.len()) {
            (false, 0) => Ok(None),
            (false, _) => Err(LdapSettingsError::PasswordWithoutBindDn),
            (true, 1) => Ok(sources.into_iter().next()),
            (true, 0) => Err(LdapSettingsError::BindDnWithoutPassword),
            (true, _) => Err(LdapSettingsError::SeveralPasswords),
        }
    }

    /// Makes file paths relative to the config file's directory.
    pub fn resolve_paths(&mut self, base: &Path) {
        for path in [&mut self.ca_file, &mut self.bind_password_file]
            .into_iter()
            .flatten()
        {
            *path = base.join(&*path);
        }
    }

    /// Checks what can be checked without the network.
    pub fn validate(&self) -> Result<(), LdapSettingsError> {
        let url = url::Url::parse(&self.url).map_err(|reason| LdapSettingsError::NotAUrl {
            url: self.url.clone(),
            reason,
        })?;
        match url.scheme() {
            "ldap" => {}
            "ldaps" if self.starttls => return Err(LdapSettingsError::StartTlsOnLdaps),
            "ldaps" => {}
            other => {
                return Err(LdapSettingsError::Scheme {
                    url: self.url.clone(),
                    scheme: other.to_owned(),
                });
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(LdapSettingsError::NoHost(self.url.clone()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(LdapSettingsError::CredentialsInUrl);
        }
        self.password_source()?;
        if self.page_size == 0 || self.connect_timeout_seconds == 0 || self.timeout_seconds == 0 {
            return Err(LdapSettingsError::ZeroLimit);
        }
        if i32::try_from(self.page_size).is_err() {
            return Err(LdapSettingsError::PageSizeTooLarge);
        }
        for (table, filter) in [
            ("[source]", &self.filter),
            ("[source.groups]", &self.groups.filter),
        ] {
            // ldap3 also takes a bare `a=b`; a filter in the config must be the standard form.
            if !filter.trim_start().starts_with('(') || ldap3::parse_filter(filter).is_err() {
                return Err(LdapSettingsError::Filter {
                    table,
                    filter: filter.clone(),
                });
            }
        }
        for (key, name) in [
            ("member_attribute", &self.groups.member_attribute),
            ("name_attribute", &self.groups.name_attribute),
        ] {
            check_attribute_name(key, name)?;
        }
        if self.groups.base_dn.is_none() {
            if self.groups.membership == Membership::Search {
                return Err(LdapSettingsError::SearchWithoutBaseDn);
            }
            if self.groups.nesting == Nesting::Flatten && self.groups.membership != Membership::None
            {
                return Err(LdapSettingsError::FlattenWithoutBaseDn);
            }
        }
        Ok(())
    }
}

/// An attribute name alone: a description with options (`member;range=0-1499`) names
/// values no entry is returned under, so the groups would silently come back empty.
fn check_attribute_name(key: &'static str, name: &str) -> Result<(), LdapSettingsError> {
    if let Some((attribute, options)) = name.split_once(';') {
        return Err(LdapSettingsError::AttributeOptions {
            key,
            name: name.to_owned(),
            attribute: attribute.to_owned(),
            options: options.to_owned(),
        });
    }
    let is_name = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let is_oid = !name.is_empty()
        && name
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if is_name || is_oid {
        Ok(())
    } else {
        Err(LdapSettingsError::NotAnAttributeName {
            key,
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &str) -> Result<LdapConfig, String> {
        let text = format!("url = \"ldap://127.0.0.1:3890\"\nbase_dn = \"dc=x\"\n{extra}");
        let config: LdapConfig = toml::from_str(&text).map_err(|e| e.message().to_owned())?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn defaults_are_safe_and_paged() {
        let c = parse("").unwrap();
        assert!(!c.danger_accept_invalid_certs && !c.starttls);
        assert_eq!((c.page_size, c.timeout_seconds), (500, 60));
        assert_eq!(c.id_attribute, "auto");
        assert_eq!(c.referrals, ReferralPolicy::Fail);
        assert_eq!(c.groups.nesting, Nesting::Direct);
        assert_eq!(c.password_source(), Ok(None));
    }

    #[test]
    fn bad_settings_are_refused_with_the_key() {
        let cases = [
            (
                "url = \"http://x\"",
                "[source] url `http://x`: scheme `http` is not ldap:// or ldaps://",
            ),
            (
                "starttls = true\nurl = \"ldaps://x\"",
                "[source] `starttls` is for ldap:// URLs; ldaps:// is TLS from the start",
            ),
            (
                "bind_password_env = \"P\"",
                "[source] a bind password is set but `bind_dn` is not",
            ),
            (
                "bind_dn = \"cn=a\"",
                "[source] `bind_dn` needs one of `bind_password_env`, `bind_password_file` or `bind_password_credential`",
            ),
            (
                "filter = \"objectClass=person\"",
                "[source] filter `objectClass=person` is not a valid LDAP filter",
            ),
            (
                "page_size = 0",
                "[source] page_size, connect_timeout_seconds and timeout_seconds must be at least 1",
            ),
            (
                "[groups]\nmember_attribute = \"member;range=0-1499\"",
                "[source.groups] member_attribute `member;range=0-1499`: give the attribute name alone (`member`); options such as `;range=0-1499` are not allowed (scimsync asks for a large attribute's ranges itself)",
            ),
            (
                "[groups]\nname_attribute = \"display name\"",
                "[source.groups] name_attribute `display name` is not an LDAP attribute name",
            ),
            (
                "[groups]\nmembership = \"search\"",
                "[source.groups] membership = \"search\" needs `base_dn` (where the group entries are)",
            ),
            (
                "[groups]\nnesting = \"flatten\"",
                "[source.groups] nesting = \"flatten\" needs `base_dn`: nested groups are found by reading the group entries",
            ),
        ];
        for (extra, expected) in cases {
            // Cases that set `url` themselves replace the default one.
            let text = if extra.contains("url =") {
                format!("base_dn = \"dc=x\"\n{extra}")
            } else {
                format!("url = \"ldap://127.0.0.1:3890\"\nbase_dn = \"dc=x\"\n{extra}")
            };
            let config: LdapConfig = toml::from_str(&text).unwrap();
            assert_eq!(
                config.validate().unwrap_err().to_string(),
                expected,
                "{extra}"
            );
        }
        let secret = parse("bind_dn = \"cn=a\"\nbind_password_credential = \"ldap\"").unwrap();
        assert_eq!(
            secret.password_source(),
            Ok(Some(SecretSource::Credential("ldap".into())))
        );
    }
}
