//! Group membership: who is in which group, directly or through nested groups, and the
//! groups themselves as records ready for group push.
//!
//! Memberships come from the users' `memberOf` values or from the groups' member attribute
//! (`member`, `uniqueMember`: DNs; `memberUid`: uid values). With `nesting = "flatten"` a
//! user in group A, where A is a member of B, is also in B; cycles (A in B in A) are cut by
//! remembering which groups were already visited. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::MemberKey;
use super::settings::{Membership, Nesting};
use crate::record::{Attrs, Record};
use crate::source::Group;
use crate::value::Value;

/// A group entry as read from the directory.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupEntry {
    pub id: String,
    pub dn: String,
    pub name: String,
    pub attrs: Attrs,
    /// Raw member values (DNs, or uids for `memberUid`).
    pub members: Vec<String>,
    /// The group's own `memberOf` values (DNs of groups it is nested in).
    pub member_of: Vec<String>,
    pub member_key: MemberKey,
}

/// What identifies a user to group entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserKeys {
    /// Normalized DN, when group entries list members by DN.
    pub dn: Option<String>,
    /// `uid`, for `memberUid` groups.
    pub uid: Option<String>,
    /// `memberOf` values, as indexes into [`DnTable`].
    pub member_of: Vec<u32>,
}

/// Group DNs seen in `memberOf` values, each stored once however many users name it
/// (100,000 users in the same few groups must not mean 100,000 copies of each DN).
#[derive(Clone, Debug, Default)]
pub struct DnTable {
    pub dns: Vec<String>,
    index: HashMap<String, u32>,
}

impl DnTable {
    /// The index of `dn` (as the server spells it), adding it when new.
    pub fn intern(&mut self, dn: &str) -> u32 {
        if let Some(&i) = self.index.get(dn) {
            return i;
        }
        let i = u32::try_from(self.dns.len()).unwrap_or(u32::MAX);
        self.dns.push(dn.to_owned());
        self.index.insert(dn.to_owned(), i);
        i
    }
}

/// A DN in a form two spellings of the same DN share: lower case, no spaces around `,`,
/// `=` or `+`. (Escaped characters are kept as they are.)
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.next() {
                    out.extend(next.to_lowercase());
                }
            }
            ',' | '=' | '+' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(c);
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            other => out.extend(other.to_lowercase()),
        }
    }
    out
}

/// The value of a DN's first RDN (`cn=Sales Team,ou=groups,...` → `Sales Team`): how a group
/// is named when its entry was not read.
pub fn rdn_value(dn: &str) -> String {
    let mut value = String::new();
    let mut chars = dn.chars();
    let mut in_value = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_value => {
                if let Some(next) = chars.next() {
                    value.push(next);
                }
            }
            '=' if !in_value => in_value = true,
            ',' | '+' if in_value => break,
            c if in_value => value.push(c),
            _ => {}
        }
    }
    value.trim().to_owned()
}

/// `uniqueMember` values may carry an optional UID: `cn=a,dc=x#'0101'B`.
fn member_dn(value: &str) -> &str {
    match value.rfind("#'") {
        Some(i) if value.ends_with("'B") => &value[..i],
        _ => value,
    }
}

/// The membership policy, with the group entries read (if any).
pub struct Memberships {
    membership: Membership,
    nesting: Nesting,
    groups: Option<Vec<GroupEntry>>,
}

impl Memberships {
    pub fn new(
        membership: Membership,
        nesting: Nesting,
        groups: Option<Vec<GroupEntry>>,
    ) -> Memberships {
        Memberships {
            membership,
            nesting,
            groups,
        }
    }

    /// Sets every user's group names and returns the groups as records, with their user
    /// members by the nesting policy. `keys[i]` belongs to `users[i]`; `dns` resolves their
    /// `memberOf` indexes.
    pub fn assign(self, users: &mut [Record], keys: &[UserKeys], dns: &DnTable) -> Vec<Group> {
        match self.groups {
            Some(entries) => {
                assign_with_entries(self.membership, self.nesting, &entries, users, keys, dns)
            }
            None => assign_from_member_of(users, keys, dns),
        }
    }
}

/// `memberOf` without the group entries: groups are named by their RDN and identified by DN.
fn assign_from_member_of(users: &mut [Record], keys: &[UserKeys], dns: &DnTable) -> Vec<Group> {
    let normalized: Vec<String> = dns.dns.iter().map(|dn| normalize_dn(dn)).collect();
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    for (user, keys) in users.iter_mut().zip(keys) {
        let mut names = BTreeSet::new();
        // The same group may be named twice (two spellings of one DN): count it once.
        let mut mine: BTreeSet<&str> = BTreeSet::new();
        for &i in &keys.member_of {
            let key = normalized[i as usize].as_str();
            if !mine.insert(key) {
                continue;
            }
            let dn = &dns.dns[i as usize];
            let group = groups.entry(key).or_insert_with(|| Group {
                id: dn.clone(),
                name: rdn_value(dn),
                attrs: Attrs::from([("dn".to_owned(), Value::Str(dn.clone()))]),
                members: Vec::new(),
                member_groups: Vec::new(),
            });
            group.members.push(user.id.clone());
            names.insert(group.name.clone());
        }
        user.groups = names.into_iter().collect();
    }
    groups.into_values().collect()
}

fn assign_with_entries(
    membership: Membership,
    nesting: Nesting,
    entries: &[GroupEntry],
    users: &mut [Record],
    keys: &[UserKeys],
    dns: &DnTable,
) -> Vec<Group> {
    let by_dn: HashMap<String, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, g)| (normalize_dn(&g.dn), i))
        .collect();

    // Direct parents of each group: groups listing it as a member, and its own memberOf.
    let mut parents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); entries.len()];
    // Member values that are not groups: user keys → groups.
    let mut user_key_groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (g, entry) in entries.iter().enumerate() {
        for value in &entry.members {
            let key = match entry.member_key {
                MemberKey::Dn => normalize_dn(member_dn(value)),
                MemberKey::Uid => value.clone(),
            };
            match by_dn.get(&key) {
                Some(&child) if entry.member_key == MemberKey::Dn && child != g => {
                    parents[child].insert(g);
                }
                Some(_) => {}
                None => user_key_groups.entry(key).or_default().push(g),
            }
        }
        for parent in &entry.member_of {
            if let Some(&p) = by_dn.get(&normalize_dn(parent)) {
                if p != g {
                    parents[g].insert(p);
                }
            }
        }
    }

    let closure = |direct: &BTreeSet<usize>| -> BTreeSet<usize> {
        match nesting {
            Nesting::Direct => direct.clone(),
            Nesting::Flatten => {
                let mut seen = direct.clone();
                let mut stack: Vec<usize> = direct.iter().copied().collect();
                while let Some(g) = stack.pop() {
                    for &p in &parents[g] {
                        if seen.insert(p) {
                            stack.push(p);
                        }
                    }
                }
                seen
            }
        }
    };

    // Each distinct memberOf DN, resolved to a group entry once.
    let member_of_group: Vec<Option<usize>> = dns
        .dns
        .iter()
        .map(|dn| by_dn.get(&normalize_dn(dn)).copied())
        .collect();

    let mut members: Vec<Vec<String>> = vec![Vec::new(); entries.len()];
    for (user, keys) in users.iter_mut().zip(keys) {
        let mut direct = BTreeSet::new();
        match membership {
            Membership::MemberOf => {
                direct.extend(
                    keys.member_of
                        .iter()
                        .filter_map(|&i| member_of_group[i as usize]),
                );
            }
            Membership::Search | Membership::None => {
                for key in keys.uid.iter().chain(keys.dn.iter()) {
                    if let Some(groups) = user_key_groups.get(key) {
                        direct.extend(groups.iter().copied());
                    }
                }
            }
        }
        let all = closure(&direct);
        let mut names: Vec<String> = all.iter().map(|&g| entries[g].name.clone()).collect();
        names.sort();
        names.dedup();
        user.groups = names;
        for g in all {
            members[g].push(user.id.clone());
        }
    }

    let mut children: Vec<Vec<String>> = vec![Vec::new(); entries.len()];
    for (child, ps) in parents.iter().enumerate() {
        for &p in ps {
            children[p].push(entries[child].id.clone());
        }
    }
    entries
        .iter()
        .zip(members)
        .zip(children)
        .map(|((entry, members), member_groups)| Group {
            id: entry.id.clone(),
            name: entry.name.clone(),
            attrs: entry.attrs.clone(),
            members,
            member_groups,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, members: &[&str], member_of: &[&str]) -> GroupEntry {
        GroupEntry {
            id: id.into(),
            dn: format!("cn={id},ou=groups,dc=x"),
            name: id.into(),
            attrs: Attrs::new(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
            member_of: member_of.iter().map(|m| (*m).to_owned()).collect(),
            member_key: MemberKey::Dn,
        }
    }

    fn user(id: &str) -> (Record, UserKeys) {
        (
            Record {
                id: id.into(),
                active: true,
                ..Record::default()
            },
            UserKeys {
                dn: Some(normalize_dn(&format!("uid={id},ou=people,dc=x"))),
                ..UserKeys::default()
            },
        )
    }

    #[test]
    fn dns_normalize_case_and_spaces() {
        assert_eq!(
            normalize_dn("CN=Sales Team, OU=Groups ,DC=Example"),
            "cn=sales team,ou=groups,dc=example"
        );
        assert_eq!(rdn_value("CN=Smith\\, John,OU=x"), "Smith, John");
        assert_eq!(member_dn("uid=a,dc=x#'0101'B"), "uid=a,dc=x");
    }

    /// inner ⊂ middle ⊂ outer ⊂ middle (a cycle); ann is in inner, bob in outer.
    fn nested() -> (Vec<GroupEntry>, Vec<Record>, Vec<UserKeys>) {
        let groups = vec![
            group("inner", &["uid=ann,ou=people,dc=x"], &[]),
            group(
                "middle",
                &["cn=inner,ou=groups,dc=x", "cn=outer,ou=groups,dc=x"],
                &[],
            ),
            group(
                "outer",
                &["UID=bob, ou=people,dc=x", "cn=middle,ou=groups,dc=x"],
                &[],
            ),
        ];
        let (a, ka) = user("ann");
        let (b, kb) = user("bob");
        (groups, vec![a, b], vec![ka, kb])
    }

    #[test]
    fn direct_policy_reads_only_direct_membership() {
        let (groups, mut users, keys) = nested();
        let out = Memberships::new(Membership::Search, Nesting::Direct, Some(groups)).assign(
            &mut users,
            &keys,
            &DnTable::default(),
        );
        assert_eq!(users[0].groups, ["inner"]);
        assert_eq!(users[1].groups, ["outer"]);
        assert_eq!(out[0].members, ["ann"]);
        assert_eq!(out[1].members, Vec::<String>::new());
        assert_eq!(out[1].member_groups, ["inner", "outer"]);
    }

    #[test]
    fn flatten_follows_nesting_and_survives_cycles() {
        let (groups, mut users, keys) = nested();
        let out = Memberships::new(Membership::Search, Nesting::Flatten, Some(groups)).assign(
            &mut users,
            &keys,
            &DnTable::default(),
        );
        assert_eq!(users[0].groups, ["inner", "middle", "outer"]);
        assert_eq!(users[1].groups, ["middle", "outer"]);
        assert_eq!(out[2].members, ["ann", "bob"]);
    }

    #[test]
    fn member_of_without_entries_names_groups_by_rdn() {
        let (mut u, mut k) = user("ann");
        let mut dns = DnTable::default();
        k.member_of = vec![
            dns.intern("cn=Eng,ou=groups,dc=x"),
            dns.intern("CN=Eng, ou=groups,dc=x"),
        ];
        u.groups.clear();
        let mut users = vec![u];
        let out = Memberships::new(Membership::MemberOf, Nesting::Direct, None).assign(
            &mut users,
            &[k],
            &dns,
        );
        assert_eq!(out.len(), 1, "two spellings of one DN are one group");
        assert_eq!(users[0].groups, ["Eng"]);
        assert_eq!(out[0].members, ["ann"]);
    }

    #[test]
    fn member_uid_groups_match_the_uid() {
        let mut g = group("posix", &["ann"], &[]);
        g.member_key = MemberKey::Uid;
        let (u, mut k) = user("ann");
        k.uid = Some("ann".into());
        let mut users = vec![u];
        Memberships::new(Membership::Search, Nesting::Direct, Some(vec![g])).assign(
            &mut users,
            &[k],
            &DnTable::default(),
        );
        assert_eq!(users[0].groups, ["posix"]);
    }
}
