#!/usr/bin/env python3
"""Seed data for the test Active Directory (tests/peers/samba-ad.sh): OUs, N users and 16 groups,
deterministic, and what a correct reader must see of them.

    gen-ad-ldif.py BASE_DN N_USERS OUT_DIR

Writes OUT_DIR/seed.ldif (entries to add), OUT_DIR/seed-modify.ldif (the nesting cycle, which
needs both groups to exist) and OUT_DIR/expected.json (every user's attributes, status and
direct and flattened groups; every group's member counts).

The data: non-ASCII names (given names, surnames, an OU, a group, some sAMAccountNames), a
comma in some RDNs ("Last, First"), disabled users (userAccountControl 514 and 66050), an
expired account (accountExpires in the past), one expiring in 2100 and one that never does
(0), users without mail, a group over 1,500 members ("All Staff"), three levels of nesting,
a cycle (Cycle A <-> Cycle B), a distribution group (groupType 2) and an empty group.
OU=Day holds a few users and groups that tests change (disable, expire, delete, rename,
move, re-enable, nest), away from the rest.
"""
import base64
import json
import os
import sys
import unicodedata

BASE, N, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
DOMAIN = ".".join(p.split("=", 1)[1] for p in BASE.split(",")).lower()

CORP = f"OU=Corp,{BASE}"
STAFF = f"OU=Staff,{CORP}"
GROUPS = f"OU=Groups,{CORP}"
DAY = f"OU=Day,{CORP}"
OUS = {
    "eng": f"OU=Engineering,{STAFF}",
    "sales": f"OU=Sales,{STAFF}",
    "emea": f"OU=EMEA,OU=Sales,{STAFF}",
    "zurich": f"OU=Zürich,OU=EMEA,OU=Sales,{STAFF}",
    "support": f"OU=Support,{STAFF}",
    "ops": f"OU=Operations,{STAFF}",
    "contractors": f"OU=Contractors,{STAFF}",
}
GIVEN = ["Ada", "Zoë", "José", "Łukasz", "Ørjan", "Şebnem", "Chloé", "Björn", "Grace", "Alan",
         "Dvořák", "Núria", "Jürgen", "Saoirse", "Mateo", "Yūko", "Ивана", "健", "Fatima", "Noah"]
SURNAMES = ["Lovelace", "Ångström", "Núñez", "Żółć", "Sæther", "Çelik", "Dubois", "Björk", "Hopper",
            "Turing", "Müller", "O'Brien", "Schröder", "渡辺", "Иванова", "García", "Nguyễn",
            "Smith", "Kowalski", "Rossi"]
# 100-ns intervals between 1601-01-01 and 1970-01-01.
FILETIME_OFFSET = 116444736000000000


def filetime(unix_seconds):
    return str(unix_seconds * 10_000_000 + FILETIME_OFFSET)


def ascii_fold(s):
    t = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in t if c.isalnum())


def escape_rdn(value):
    out = ""
    for i, c in enumerate(value):
        special = c in ',+"\\<>;=' or (c == "#" and i == 0) or (c == " " and i in (0, len(value) - 1))
        out += "\\" + c if special else c
    return out


def ldif_line(key, value):
    value = str(value)
    safe = (all(32 <= ord(c) < 127 for c in value) and not value.startswith((" ", ":", "<"))
            and not value.endswith(" "))
    return f"{key}: {value}" if safe else f"{key}:: {base64.b64encode(value.encode()).decode()}"


lines = []


def entry(dn, attrs):
    lines.append(ldif_line("dn", dn))
    for key, values in attrs:
        for value in values if isinstance(values, list) else [values]:
            lines.append(ldif_line(key, value))
    lines.append("")


def ou_entry(dn):
    entry(dn, [("objectClass", "organizationalUnit"), ("ou", dn.split(",", 1)[0].split("=", 1)[1])])


for dn in [CORP, STAFF, GROUPS, f"OU=Service Accounts,{CORP}", *OUS.values(), DAY,
           f"OU=Team A,{DAY}", f"OU=Team B,{DAY}"]:
    ou_entry(dn)


def ou_of(i):
    f = i / N
    for limit, name in [(0.40, "eng"), (0.45, "emea"), (0.50, "zurich"), (0.60, "sales"),
                        (0.80, "support"), (0.9334, "ops")]:
        if f <= limit:
            return name
    return "contractors"


users = {}  # i -> expected record
for i in range(1, N + 1):
    given = GIVEN[i % len(GIVEN)]
    surname = SURNAMES[(i * 7) % len(SURNAMES)]
    sam = f"{ascii_fold(given)[:1] or 'u'}{(ascii_fold(surname) or 'user')[:10]}{i:04d}"
    if i % 250 == 1:
        sam = f"{given.lower()}{i:04d}"[:20]  # a non-ASCII sAMAccountName (zoë0001)
    cn = f"{given} {surname} {i:04d}"
    if i % 100 == 3:
        cn = f"{surname}, {given} {i:04d}"  # a comma in the RDN
    dn = f"CN={escape_rdn(cn)},{OUS[ou_of(i)]}"
    uac = {7: 66050, 8: 66048}.get(i, 514 if i % 50 == 0 else 512)
    attrs = {"cn": cn, "sAMAccountName": sam, "userPrincipalName": f"{sam}@{DOMAIN}",
             "givenName": given, "sn": surname, "displayName": f"{given} {surname}",
             "department": ou_of(i), "title": f"Title {i % 13}", "employeeID": f"E{i:06d}",
             "userAccountControl": str(uac)}
    if i % 97 != 0:
        attrs["mail"] = f"{sam}@{DOMAIN}"
    active = uac & 2 == 0
    expires = {9: filetime(1577836800), 10: filetime(4102444800), 11: "0"}.get(i)
    if expires is not None:
        attrs["accountExpires"] = expires
        active = active and i != 9  # 2020-01-01 has passed
    entry(dn, [("objectClass", "user"), *attrs.items()])
    users[i] = {"dn": dn, "active": active, "attributes": attrs, "direct": set(), "flat": set()}

groups = {}


def group(name, members, nested=()):
    groups[name] = {"dn": f"CN={escape_rdn(name)},{GROUPS}", "users": [i for i in members if i in users],
                    "groups": list(nested)}


def share(a, b):
    return range(int(N * a) + 1, int(N * b) + 1)


group("All Staff", [i for i in users if ou_of(i) != "contractors"])
group("Engineering", range(1, 11), ["Backend", "Frontend", "Platform"])
group("Backend", share(0.004, 0.20))
group("Frontend", share(0.20, 0.333), ["Design"])
group("Design", share(0.333, 0.366))
group("Platform", share(0.80, 0.8167), ["SRE"])
group("SRE", share(0.366, 0.40))
group("Sales", share(0.40, 0.60))
group("Équipe Zürich", [i for i in users if ou_of(i) == "zurich"])
group("R&D, Labs", range(1, 6))
group("Support", share(0.60, 0.80))
group("Contractors", [i for i in users if ou_of(i) == "contractors"])
group("Cycle A", [int(N * 0.81)], ["Cycle B"])
group("Cycle B", [int(N * 0.81) + 1], ["Cycle A"])
group("Empty", [])
group("Newsletter", range(1, 101))  # a distribution group

# Inner groups first: a member must exist when its group is added.
for name in ["Design", "SRE", "Backend", "Frontend", "Platform", "Engineering", "All Staff", "Sales",
             "Équipe Zürich", "R&D, Labs", "Support", "Contractors", "Empty", "Newsletter",
             "Cycle A", "Cycle B"]:
    g = groups[name]
    attrs = [("objectClass", "group"), ("cn", name), ("sAMAccountName", ascii_fold(name)[:20]),
             ("description", f"test group {name}")]
    if name == "Newsletter":
        attrs.append(("groupType", "2"))
    cycle = name.startswith("Cycle")
    inner = [] if cycle else [groups[c]["dn"] for c in g["groups"]]
    attrs.append(("member", [users[i]["dn"] for i in g["users"]] + inner))
    entry(g["dn"], attrs)

# OU=Day: users and groups the directory-change test changes.
for n in range(1, 7):
    sam = f"day{n:02d}"
    entry(f"CN=Day User {n:02d},OU=Team A,{DAY}", [
        ("objectClass", "user"), ("sAMAccountName", sam), ("userPrincipalName", f"{sam}@{DOMAIN}"),
        ("givenName", "Day"), ("sn", f"User {n:02d}"), ("mail", f"{sam}@{DOMAIN}"),
        ("userAccountControl", "514" if n == 6 else "512")])
entry(f"CN=Day Leads,{DAY}", [("objectClass", "group"), ("sAMAccountName", "dayleads"),
                              ("member", f"CN=Day User 05,OU=Team A,{DAY}")])
entry(f"CN=Day Crew,{DAY}", [("objectClass", "group"), ("sAMAccountName", "daycrew"),
                             ("member", [f"CN=Day User {n:02d},OU=Team A,{DAY}" for n in range(1, 5)])])

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "seed.ldif"), "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
with open(os.path.join(OUT, "seed-modify.ldif"), "w", encoding="utf-8") as f:
    a, b = groups["Cycle A"]["dn"], groups["Cycle B"]["dn"]
    f.write(f"dn: {a}\nchangetype: modify\nadd: member\nmember: {b}\n\n"
            f"dn: {b}\nchangetype: modify\nadd: member\nmember: {a}\n\n")


def closure(name, seen):
    if name in seen:
        return set()
    seen.add(name)
    found = set(groups[name]["users"])
    for inner in groups[name]["groups"]:
        found |= closure(inner, seen)
    return found


for name, g in groups.items():
    g["flat"] = closure(name, set())
    for i in g["users"]:
        users[i]["direct"].add(name)
    for i in g["flat"]:
        users[i]["flat"].add(name)

expected = {
    "users": {u["attributes"]["sAMAccountName"]: {
        "dn": u["dn"], "active": u["active"], "attributes": u["attributes"],
        "direct": sorted(u["direct"]), "flat": sorted(u["flat"])} for u in users.values()},
    "groups": {name: {"dn": g["dn"], "direct_users": len(g["users"]), "flat_users": len(g["flat"]),
                      "distribution": name == "Newsletter"} for name, g in groups.items()},
}
with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
    json.dump(expected, f, ensure_ascii=False, indent=1)
print(f"{N} users, {len(groups)} groups -> {OUT}", file=sys.stderr)
