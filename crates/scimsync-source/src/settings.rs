//! The `[source]` table: which kind of source, and that kind's own settings.

use serde::Deserialize;

use crate::json::settings::JsonSourceConfig;
use crate::ldap::settings::LdapConfig;

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    Json(JsonSourceConfig),
    /// An LDAP directory (OpenLDAP, 389, Active Directory); see [`LdapConfig`].
    Ldap(Box<LdapConfig>),
}
