//! Well-known directory attribute names, for "did you mean" on the source attributes a rule
//! reads.
//!
//! A source can hold any custom attribute, so an unknown name is never an error. But a name
//! one or two typos away from a standard attribute (`[userPrincipleName]`), or one that
//! differs from an Entra attribute only in letter case (Entra names are case-sensitive), is
//! almost always a mistake that would otherwise surface as a silently missing value.

use crate::mapping::Dialect;

/// Entra ID user attributes as its provisioning schema names them (the source attribute list
/// of an enterprise app's user mapping), plus the computed ones.
const ENTRA: &[&str] = &[
    "accountEnabled",
    "appRoleAssignments",
    "city",
    "companyName",
    "country",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "employeeLeaveDateTime",
    "employeeOrgData",
    "employeeType",
    "extensionAttribute1",
    "extensionAttribute10",
    "extensionAttribute11",
    "extensionAttribute12",
    "extensionAttribute13",
    "extensionAttribute14",
    "extensionAttribute15",
    "extensionAttribute2",
    "extensionAttribute3",
    "extensionAttribute4",
    "extensionAttribute5",
    "extensionAttribute6",
    "extensionAttribute7",
    "extensionAttribute8",
    "extensionAttribute9",
    "facsimileTelephoneNumber",
    "givenName",
    "IsSoftDeleted",
    "jobTitle",
    "mail",
    "mailNickname",
    "manager",
    "mobile",
    "objectId",
    "onPremisesDistinguishedName",
    "onPremisesImmutableId",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesUserPrincipalName",
    "originalUserPrincipalName",
    "otherMails",
    "passwordProfile.password",
    "physicalDeliveryOfficeName",
    "postalCode",
    "preferredLanguage",
    "proxyAddresses",
    "state",
    "streetAddress",
    "surname",
    "telephoneNumber",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

/// Okta's base user profile, plus the attributes LDAP directories commonly carry (Okta-style
/// mappings read LDAP sources too).
const OKTA: &[&str] = &[
    "city",
    "costCenter",
    "countryCode",
    "department",
    "displayName",
    "division",
    "email",
    "employeeNumber",
    "employeeType",
    "firstName",
    "honorificPrefix",
    "honorificSuffix",
    "lastName",
    "locale",
    "login",
    "manager",
    "managerId",
    "middleName",
    "mobilePhone",
    "nickName",
    "organization",
    "postalAddress",
    "preferredLanguage",
    "primaryPhone",
    "profileUrl",
    "secondEmail",
    "state",
    "streetAddress",
    "timezone",
    "title",
    "userType",
    "zipCode",
    // LDAP (inetOrgPerson, Active Directory).
    "accountExpires",
    "description",
    "distinguishedName",
    "employeeID",
    "entryUUID",
    "givenName",
    "mail",
    "memberOf",
    "mobile",
    "objectGUID",
    "objectSid",
    "sAMAccountName",
    "telephoneNumber",
    "userAccountControl",
    "userPrincipalName",
];

/// The standard attribute `name` most likely stands for, when it is not one itself.
pub fn suggestion(name: &str, dialect: Dialect) -> Option<&'static str> {
    let known = match dialect {
        Dialect::Entra => ENTRA,
        Dialect::Okta | Dialect::Okta2 => OKTA,
    };
    if known.contains(&name) || name.contains('.') {
        return None;
    }
    // Entra matches names exactly; LDAP sources match them in any case, so only Entra's
    // case slips are mistakes.
    if dialect == Dialect::Entra
        && let Some(exact) = known.iter().find(|k| k.eq_ignore_ascii_case(name))
    {
        return Some(exact);
    }
    // Short names are too close to each other (`cn`, `sn`, `uid`) for a guess to help.
    let length = name.chars().count();
    let allowed = match length {
        0..=5 => return None,
        6..=9 => 1,
        _ => 2,
    };
    // A standard name with something added or cut off (`emails`, `extensionAttribute16`) is
    // a deliberate variant more often than a slip.
    let lower = name.to_ascii_lowercase();
    known
        .iter()
        .filter(|k| {
            let k = k.to_ascii_lowercase();
            !lower.starts_with(&k) && !k.starts_with(&lower)
        })
        .map(|k| (strsim::damerau_levenshtein(name, k), *k))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_of_standard_names_get_a_suggestion() {
        let entra = |n| suggestion(n, Dialect::Entra);
        let okta = |n| suggestion(n, Dialect::Okta);
        assert_eq!(entra("userPrincipleName"), Some("userPrincipalName"));
        assert_eq!(entra("UserPrincipalName"), Some("userPrincipalName"));
        assert_eq!(entra("extensionAtribute1"), Some("extensionAttribute1"));
        assert_eq!(okta("fristName"), Some("firstName"));
        assert_eq!(okta("departmnet"), Some("department"));
    }

    #[test]
    fn standard_custom_and_short_names_pass() {
        for name in [
            "userPrincipalName",
            "extension_abc_costCenter",
            "badgeSecret",
            "mail",
        ] {
            assert_eq!(suggestion(name, Dialect::Entra), None, "{name}");
        }
        // LDAP names are case-insensitive: `givenname` is fine for an Okta-style mapping.
        for name in [
            "givenname",
            "login",
            "uid",
            "sn",
            "appuser.role",
            "b44Role",
            "creditLimit",
            "emails",
            "titles",
        ] {
            assert_eq!(suggestion(name, Dialect::Okta), None, "{name}");
        }
    }
}
