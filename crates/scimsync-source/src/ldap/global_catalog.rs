//! Active Directory's global catalog (ports 3268 and 3269) holds every object of the forest but
//! only the attributes of the partial attribute set: account and HR attributes such as
//! `accountExpires`, `title` or `department` are not replicated to it and are simply absent
//! there. A read from a global catalog that needs one of them is warned about.

/// Attributes of users that a default Active Directory schema leaves out of the global catalog
/// (`isMemberOfPartialAttributeSet` is false), as names compared case-insensitively.
const NOT_IN_GLOBAL_CATALOG: &[&str] = &[
    "accountExpires",
    "badPwdCount",
    "department",
    "division",
    "employeeID",
    "employeeNumber",
    "employeeType",
    "lastLogon",
    "lastLogonTimestamp",
    "lockoutTime",
    "pwdLastSet",
    "title",
];

/// The global catalog ports: plain (with StartTLS) and TLS.
const GLOBAL_CATALOG_PORTS: [u16; 2] = [3268, 3269];

/// Whether `url` points at a global catalog.
pub fn is_global_catalog(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.port())
        .is_some_and(|port| GLOBAL_CATALOG_PORTS.contains(&port))
}

/// Of the attributes a read asks for, those a global catalog does not hold, as the read
/// spells them.
pub fn missing_from_global_catalog(requested: &[String]) -> Vec<&str> {
    requested
        .iter()
        .map(String::as_str)
        .filter(|name| {
            NOT_IN_GLOBAL_CATALOG
                .iter()
                .any(|absent| absent.eq_ignore_ascii_case(name))
        })
        .collect()
}

/// Warns when `url` is a global catalog and the read needs attributes it does not hold.
/// `accountExpires` is always read (an expired account is inactive), so a global catalog is
/// always warned about.
pub fn warn_if_missing(url: &str, requested: &[String]) {
    if !is_global_catalog(url) {
        return;
    }
    let missing = missing_from_global_catalog(requested);
    if missing.is_empty() {
        return;
    }
    let expiry = if missing
        .iter()
        .any(|m| m.eq_ignore_ascii_case("accountExpires"))
    {
        " (without accountExpires an expired account looks active)"
    } else {
        ""
    };
    tracing::warn!(
        url,
        "{url} is a global catalog: Active Directory does not replicate {} to it, so they are absent there{expiry}; read from the domain controller's port 636 (ldaps://) or 389 instead",
        missing.join(", ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_catalog_ports_are_recognised() {
        assert!(is_global_catalog("ldaps://dc1.corp.example.com:3269"));
        assert!(is_global_catalog("ldap://127.0.0.1:3268"));
        assert!(!is_global_catalog("ldaps://dc1.corp.example.com"));
        assert!(!is_global_catalog("ldap://127.0.0.1:389"));
    }

    #[test]
    fn attributes_outside_the_partial_attribute_set_are_named_as_requested() {
        let requested: Vec<String> = ["mail", "Title", "accountExpires", "department", "cn"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            missing_from_global_catalog(&requested),
            ["Title", "accountExpires", "department"]
        );
    }
}
