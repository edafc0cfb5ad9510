//! Group membership: who is in which group, directly or through nested groups, and the
//! groups themselves as records ready for group push.
//!
//! Memberships come from the users' `memberOf` values or from the groups' member attribute
//! (`member`, `uniqueMember`: DNs; `memberUid`: uid values). With `nesting = "flatten"` a
//! user in group A, where A is a member of B, is also in B; cycles (A in B in A) are cut by
//! remembering which groups were already visited. Pure: no I/O.

use std::collections::{BTreeSet, HashMap};

use super::MemberKey;
use super::settings::{Membership, Nesting};
use crate::Group;
use scimsync_lang::record::Attrs;
use scimsync_lang::value::Value;

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

/// What identifies a user to group entries, borrowed from the user's entry while it is read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserKeys<'e> {
    /// Normalized DN, when group entries list members by DN.
    pub dn: Option<String>,
    /// `uid`, for `memberUid` groups.
    pub uid: Option<&'e str>,
    /// `memberOf` values, as the server spells them.
    pub member_of: Vec<&'e str>,
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

/// Group membership, resolved one user at a time as the users are read.
///
/// Everything a user's groups depend on (the group entries, read before the users, and the
/// user's own entry) is known when its entry arrives, so each user leaves the reader with its
/// groups set and can be mapped while the read goes on: no user is held until the end of the
/// search just to be given its groups.
pub struct Memberships {
    resolver: Resolver,
    /// Whether groups list their members (see [`Projection::group_members`](crate::Projection::group_members)).
    keep_members: bool,
}

enum Resolver {
    /// `memberOf` without the group entries: groups are named by their RDN and identified by
    /// DN.
    Rdn(RdnGroups),
    /// Group entries were read: memberships follow the policy and the nesting between them.
    Entries(Box<EntryGraph>),
}

/// `memberOf` values as the server spells them, each looked up once: a few distinct DNs
/// repeat on every user, and normalizing them is the costly part.
struct Spellings<T>(HashMap<String, T>);

impl<T: Copy> Spellings<T> {
    fn new() -> Spellings<T> {
        Spellings(HashMap::new())
    }

    /// What `dn` stands for; `look_up` runs the first time this spelling is seen.
    fn get(&mut self, dn: &str, look_up: impl FnOnce(&str) -> T) -> T {
        if let Some(&found) = self.0.get(dn) {
            return found;
        }
        let found = look_up(dn);
        self.0.insert(dn.to_owned(), found);
        found
    }
}

struct RdnGroups {
    /// A `memberOf` value as the server spells it → its group.
    spelled: Spellings<usize>,
    /// Normalized DN → group: two spellings of one DN are one group.
    by_key: HashMap<String, usize>,
    /// With their normalized DNs, in order of first sight.
    groups: Vec<(String, Group)>,
}

struct EntryGraph {
    membership: Membership,
    nesting: Nesting,
    entries: Vec<GroupEntry>,
    by_dn: HashMap<String, usize>,
    /// Direct parents of each group: groups listing it as a member, and its own memberOf.
    parents: Vec<BTreeSet<usize>>,
    /// Member values that are not groups (user DNs or uids) → the groups listing them.
    user_key_groups: HashMap<String, Vec<usize>>,
    /// A user's `memberOf` value as spelled → the group entry it names, if any.
    spelled: Spellings<Option<usize>>,
    /// Source ids of each group's users, by the nesting policy.
    members: Vec<Vec<String>>,
}

impl Memberships {
    /// `keep_members`: whether the groups [`into_groups`](Self::into_groups) returns list
    /// their members.
    pub fn new(
        membership: Membership,
        nesting: Nesting,
        groups: Option<Vec<GroupEntry>>,
        keep_members: bool,
    ) -> Memberships {
        let resolver = match groups {
            Some(entries) => {
                Resolver::Entries(Box::new(EntryGraph::new(membership, nesting, entries)))
            }
            None => Resolver::Rdn(RdnGroups {
                spelled: Spellings::new(),
                by_key: HashMap::new(),
                groups: Vec::new(),
            }),
        };
        Memberships {
            resolver,
            keep_members,
        }
    }

    /// The names of the groups the user `id` (with `keys`) is in, sorted; the user is listed
    /// as a member of those groups when groups keep their members.
    pub fn resolve(&mut self, id: &str, keys: &UserKeys<'_>) -> Vec<String> {
        let member = self.keep_members.then_some(id);
        match &mut self.resolver {
            Resolver::Rdn(rdn) => rdn.resolve(member, keys),
            Resolver::Entries(graph) => graph.resolve(member, keys),
        }
    }

    /// The groups as records, with their user members, once every user has been resolved.
    pub fn into_groups(self) -> Vec<Group> {
        match self.resolver {
            Resolver::Rdn(rdn) => rdn.into_groups(),
            Resolver::Entries(graph) => graph.into_groups(),
        }
    }

    /// Sets every user's group names and returns the groups: [`resolve`](Self::resolve) for
    /// each user, then [`into_groups`](Self::into_groups). `keys[i]` belongs to `users[i]`.
    #[cfg(test)]
    pub fn assign(
        mut self,
        users: &mut [scimsync_lang::record::Record],
        keys: &[UserKeys<'_>],
    ) -> Vec<Group> {
        for (user, keys) in users.iter_mut().zip(keys) {
            user.groups = self.resolve(&user.id, keys);
        }
        self.into_groups()
    }
}

impl RdnGroups {
    /// The user's group names; `member`: its id, to list it in its groups.
    fn resolve(&mut self, member: Option<&str>, keys: &UserKeys<'_>) -> Vec<String> {
        // The same group may be named twice (two spellings of one DN): count it once.
        let mut mine = BTreeSet::new();
        for &dn in &keys.member_of {
            let (by_key, groups) = (&mut self.by_key, &mut self.groups);
            let group = self.spelled.get(dn, |dn| {
                let key = normalize_dn(dn);
                *by_key.entry(key.clone()).or_insert_with(|| {
                    groups.push((
                        key,
                        Group {
                            id: dn.to_owned(),
                            name: rdn_value(dn),
                            attrs: Attrs::from([("dn".to_owned(), Value::Str(dn.to_owned()))]),
                            members: Vec::new(),
                            member_groups: Vec::new(),
                        },
                    ));
                    groups.len() - 1
                })
            });
            mine.insert(group);
        }
        let mut names = Vec::with_capacity(mine.len());
        for g in mine {
            let group = &mut self.groups[g].1;
            group.members.extend(member.map(str::to_owned));
            names.push(group.name.clone());
        }
        names.sort();
        names.dedup();
        names
    }

    fn into_groups(mut self) -> Vec<Group> {
        self.groups.sort_by(|a, b| a.0.cmp(&b.0));
        self.groups.into_iter().map(|(_, group)| group).collect()
    }
}

impl EntryGraph {
    fn new(membership: Membership, nesting: Nesting, entries: Vec<GroupEntry>) -> EntryGraph {
        let by_dn: HashMap<String, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, g)| (normalize_dn(&g.dn), i))
            .collect();
        let mut parents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); entries.len()];
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
                if let Some(&p) = by_dn.get(&normalize_dn(parent))
                    && p != g
                {
                    parents[g].insert(p);
                }
            }
        }
        EntryGraph {
            membership,
            nesting,
            members: vec![Vec::new(); entries.len()],
            entries,
            by_dn,
            parents,
            user_key_groups,
            spelled: Spellings::new(),
        }
    }

    fn closure(&self, direct: BTreeSet<usize>) -> BTreeSet<usize> {
        match self.nesting {
            Nesting::Direct => direct,
            Nesting::Flatten => {
                let mut seen = direct;
                let mut stack: Vec<usize> = seen.iter().copied().collect();
                while let Some(g) = stack.pop() {
                    for &p in &self.parents[g] {
                        if seen.insert(p) {
                            stack.push(p);
                        }
                    }
                }
                seen
            }
        }
    }

    /// The user's group names; `member`: its id, to list it in its groups.
    fn resolve(&mut self, member: Option<&str>, keys: &UserKeys<'_>) -> Vec<String> {
        let mut direct = BTreeSet::new();
        match self.membership {
            Membership::MemberOf => {
                for &dn in &keys.member_of {
                    let by_dn = &self.by_dn;
                    direct.extend(
                        self.spelled
                            .get(dn, |dn| by_dn.get(&normalize_dn(dn)).copied()),
                    );
                }
            }
            Membership::Search | Membership::None => {
                for key in keys.uid.into_iter().chain(keys.dn.as_deref()) {
                    if let Some(groups) = self.user_key_groups.get(key) {
                        direct.extend(groups.iter().copied());
                    }
                }
            }
        }
        let all = self.closure(direct);
        let mut names: Vec<String> = all.iter().map(|&g| self.entries[g].name.clone()).collect();
        names.sort();
        names.dedup();
        if let Some(id) = member {
            for g in all {
                self.members[g].push(id.to_owned());
            }
        }
        names
    }

    fn into_groups(self) -> Vec<Group> {
        let mut children: Vec<Vec<String>> = vec![Vec::new(); self.entries.len()];
        for (child, ps) in self.parents.iter().enumerate() {
            for &p in ps {
                children[p].push(self.entries[child].id.clone());
            }
        }
        self.entries
            .into_iter()
            .zip(self.members)
            .zip(children)
            .map(|((entry, members), member_groups)| Group {
                id: entry.id,
                name: entry.name,
                attrs: entry.attrs,
                members,
                member_groups,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimsync_lang::record::Record;

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

    fn user(id: &str) -> (Record, UserKeys<'static>) {
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
    fn nested() -> (Vec<GroupEntry>, Vec<Record>, Vec<UserKeys<'static>>) {
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
        let out = Memberships::new(Membership::Search, Nesting::Direct, Some(groups), true)
            .assign(&mut users, &keys);
        assert_eq!(users[0].groups, ["inner"]);
        assert_eq!(users[1].groups, ["outer"]);
        assert_eq!(out[0].members, ["ann"]);
        assert_eq!(out[1].members, Vec::<String>::new());
        assert_eq!(out[1].member_groups, ["inner", "outer"]);
    }

    #[test]
    fn flatten_follows_nesting_and_survives_cycles() {
        let (groups, mut users, keys) = nested();
        let out = Memberships::new(Membership::Search, Nesting::Flatten, Some(groups), true)
            .assign(&mut users, &keys);
        assert_eq!(users[0].groups, ["inner", "middle", "outer"]);
        assert_eq!(users[1].groups, ["middle", "outer"]);
        assert_eq!(out[2].members, ["ann", "bob"]);
    }

    #[test]
    fn member_of_without_entries_names_groups_by_rdn() {
        let (mut u, mut k) = user("ann");
        k.member_of = vec!["cn=Eng,ou=groups,dc=x", "CN=Eng, ou=groups,dc=x"];
        u.groups.clear();
        let mut users = vec![u];
        let out = Memberships::new(Membership::MemberOf, Nesting::Direct, None, true)
            .assign(&mut users, &[k]);
        assert_eq!(out.len(), 1, "two spellings of one DN are one group");
        assert_eq!(users[0].groups, ["Eng"]);
        assert_eq!(out[0].members, ["ann"]);
    }

    #[test]
    fn groups_without_member_lists_still_name_each_users_groups() {
        let (groups, mut users, keys) = nested();
        let out = Memberships::new(Membership::Search, Nesting::Flatten, Some(groups), false)
            .assign(&mut users, &keys);
        assert_eq!(users[0].groups, ["inner", "middle", "outer"]);
        assert!(out.iter().all(|g| g.members.is_empty()));
        assert_eq!(out[1].member_groups, ["inner", "outer"]);
    }

    #[test]
    fn member_uid_groups_match_the_uid() {
        let mut g = group("posix", &["ann"], &[]);
        g.member_key = MemberKey::Uid;
        let (u, mut k) = user("ann");
        k.uid = Some("ann");
        let mut users = vec![u];
        Memberships::new(Membership::Search, Nesting::Direct, Some(vec![g]), true)
            .assign(&mut users, &[k]);
        assert_eq!(users[0].groups, ["posix"]);
    }
}
