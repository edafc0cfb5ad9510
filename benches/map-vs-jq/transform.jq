# bench.map, written for jq: the same SCIM resources, the same key order, nulls left out.
# A module: `jq -L benches/map-vs-jq 'include "transform"; scim'` maps one user per input.
def drop_nulls: with_entries(select(.value != null));
def scim:
select(.status == "ACTIVE")
| .profile as $p
| (.groups // []) as $g
| (if ($g | index("Base44 Admins")) then "admin"
   elif ($g | index("Base44 Builders")) then "editor"
   else "viewer" end) as $role
| {
    schemas: [
      "urn:ietf:params:scim:schemas:core:2.0:User",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
      "urn:base44:params:scim:schemas:extension:user:2.0"
    ],
    userName: ($p.email | ascii_downcase),
    externalId: .id,
    name: ({givenName: $p.firstName, familyName: $p.lastName} | drop_nulls),
    displayName: "\($p.firstName) \($p.lastName)",
    emails: [{type: "work", value: ($p.email | ascii_downcase)}],
    title: $p.title,
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {department: $p.department},
    "urn:base44:params:scim:schemas:extension:user:2.0": ({
      role: $role,
      creditLimit: (if $role != "viewer" then ($p.creditLimit | tonumber) else null end)
    } | drop_nulls),
    active: true
  }
| drop_nulls;
