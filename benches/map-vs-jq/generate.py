"""Writes a deterministic Okta export (List Users shape) of N users as JSON Lines.

Usage: generate.py N OUT.jsonl   (same N, same bytes, every time)
"""
import json
import random
import sys

FIRST = ["Ada", "José", "Zoë", "Mateo", "Ingrid", "Wei", "Amara", "Liam", "Søren", "Priya",
         "Chloé", "Kenji", "Fatima", "Noah", "Olga", "Rafael", "Aiyana", "Björn", "Mei", "Omar"]
LAST = ["Lovelace", "Álvarez", "Dvořák", "Rossi", "Berg", "Zhang", "Okafor", "Murphy",
        "Kierkegaard", "Patel", "Dubois", "Tanaka", "Haddad", "Smith", "Ivanova", "Costa"]
TITLES = ["Engineer", "Designer", "Data Analyst", "Product Manager", "Support Lead", "Recruiter"]
DEPARTMENTS = ["Engineering", "Design", "Analytics", "Product", "Support", "People"]
GROUPS = ["Everyone", "Base44 Admins", "Base44 Builders", "VPN", "Contractors"]
STATUSES = ["ACTIVE"] * 17 + ["SUSPENDED", "DEPROVISIONED", "STAGED"]


def main() -> None:
    count, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(20260101)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            # ASCII logins: jq's ascii_downcase must lower-case them the way scimsync does.
            login = f"User{i:06d}.{rng.choice(DEPARTMENTS)}@Example.com"
            groups = ["Everyone"] + [g for g in GROUPS[1:] if rng.random() < 0.2]
            user = {
                "id": f"00u{i:08x}",
                "status": rng.choice(STATUSES),
                "created": "2026-01-05T09:00:00.000Z",
                "lastUpdated": "2026-02-01T12:30:00.000Z",
                "profile": {
                    "firstName": first,
                    "lastName": last,
                    "email": login,
                    "login": login,
                    "title": rng.choice(TITLES),
                    "department": rng.choice(DEPARTMENTS),
                    "creditLimit": str(rng.randrange(0, 5000, 50)),
                    "mobilePhone": f"+1 555 {rng.randrange(1000000):07d}",
                    "locale": "en_US",
                },
                "groups": groups,
            }
            f.write(json.dumps(user, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
