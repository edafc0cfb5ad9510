#!/usr/bin/env python3
"""Deterministic LDIF for scimsync's LDAP tests and benchmarks (stdlib only).

  gen-ldif.py -n 100000 -o users.ldif        # same arguments, byte-identical output

Users (inetOrgPerson + shadowAccount under ou=people):
  * uid user0001.. (zero-padded), mail <uid>@example.com, and a second mail for every 7th user
    (a multi-valued attribute), telephoneNumber twice for every 5th user;
  * names: every 10th user has a non-ASCII name (Zoë, Łukasz, 明, Nuñez, ...), base64 in LDIF;
  * employeeType admin / editor / viewer (1 % / 9 % / 90 %), employeeNumber;
  * user0003 is disabled: shadowExpire 1 (expired on 1970-01-02);
  * memberOf on every user for the groups that list it (slapadd bypasses the memberof overlay).
Groups (groupOfNames under ou=groups): one per department; admins, editors, viewers;
  "staff" with the department groups as members (nesting); "loop-a" and "loop-b" members of
  each other (a cycle) with user0001 in loop-a; and posixGroup "unix" (memberUid) with user0001
  and user0002.
"""
import argparse
import base64
import random
import sys

GIVEN = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
         "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica"]
FAMILY = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
          "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Harris"]
INTL_GIVEN = ["José", "Zoë", "Łukasz", "Søren", "François", "Jürgen", "Ángel", "明"]
INTL_FAMILY = ["Müller", "Nuñez", "Øster", "Gärtner", "Dvořák", "王"]
DEPTS = ["engineering", "sales", "support", "finance"]
ROLES = ["admin", "editor", "viewer"]


def line(attr, value):
    if not value.isascii() or value[:1] in (" ", ":", "<") or value.endswith(" "):
        return f"{attr}:: {base64.b64encode(value.encode()).decode()}\n"
    return f"{attr}: {value}\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", "--users", type=int, default=50)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--suffix", default="dc=example,dc=com")
    p.add_argument("-o", "--output", default="-")
    a = p.parse_args()
    rng = random.Random(a.seed)
    people, groups_ou = f"ou=people,{a.suffix}", f"ou=groups,{a.suffix}"
    out = sys.stdout if a.output == "-" else open(a.output, "w", encoding="utf-8")
    w = out.write
    width = max(4, len(str(a.users)))

    def gdn(name):
        return f"cn={name},{groups_ou}"

    members = {g: [] for g in DEPTS + ["admins", "editors", "viewers", "loop-a"]}
    users = []
    for i in range(1, a.users + 1):
        uid = f"user{i:0{width}d}"
        if i % 10 == 0:
            gn, sn = INTL_GIVEN[(i // 10) % len(INTL_GIVEN)], INTL_FAMILY[(i // 10) % len(INTL_FAMILY)]
        else:
            gn, sn = rng.choice(GIVEN), rng.choice(FAMILY)
        dept = DEPTS[i % len(DEPTS)]
        role = rng.choices(ROLES, weights=[1, 9, 90])[0]
        if i == 1:
            role = "admin"
        groups = [dept, role + "s"] + (["loop-a"] if i == 1 else [])
        for g in groups:
            members[g].append(f"uid={uid},{people}")
        users.append((i, uid, gn, sn, dept, role, groups))

    for i, uid, gn, sn, dept, role, groups in users:
        w(f"dn: uid={uid},{people}\n")
        w("objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n"
          "objectClass: inetOrgPerson\nobjectClass: shadowAccount\n")
        w(f"uid: {uid}\n")
        w(line("cn", f"{gn} {sn}"))
        w(line("sn", sn))
        w(line("givenName", gn))
        w(line("displayName", f"{gn} {sn}"))
        w(f"mail: {uid}@example.com\n")
        if i % 7 == 0:
            w(f"mail: {uid}.alias@example.com\n")
        w(f"telephoneNumber: +1 555 {rng.randrange(10**7):07d}\n")
        if i % 5 == 0:
            w(f"telephoneNumber: +1 555 {rng.randrange(10**7):07d}\n")
        w(f"departmentNumber: {dept}\n")
        w(f"employeeType: {role}\n")
        w(f"employeeNumber: {100000 + i}\n")
        w(f"title: {rng.choice(['Engineer', 'Manager', 'Analyst', 'Designer'])}\n")
        if i == 3:
            w("shadowExpire: 1\n")
        for g in groups:
            w(f"memberOf: {gdn(g)}\n")
        w("\n")

    def group(name, member_dns, member_of=(), description=None):
        w(f"dn: {gdn(name)}\nobjectClass: top\nobjectClass: groupOfNames\ncn: {name}\n")
        if description:
            w(line("description", description))
        for m in member_dns:
            w(f"member: {m}\n")
        for g in member_of:
            w(f"memberOf: {gdn(g)}\n")
        w("\n")

    for d in DEPTS:
        if members[d]:
            group(d, members[d], member_of=["staff"], description=f"Département {d}")
    for r in ["admins", "editors", "viewers"]:
        if members[r]:
            group(r, members[r])
    group("staff", [gdn(d) for d in DEPTS if members[d]])
    group("loop-a", members["loop-a"] + [gdn("loop-b")], member_of=["loop-b"])
    group("loop-b", [gdn("loop-a")], member_of=["loop-a"])
    w(f"dn: cn=unix,{groups_ou}\nobjectClass: top\nobjectClass: posixGroup\ncn: unix\ngidNumber: 5000\n")
    for i in (1, 2):
        if i <= a.users:
            w(f"memberUid: user{i:0{width}d}\n")
    w("\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
