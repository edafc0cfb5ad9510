#!/usr/bin/env python3
"""Deterministic Okta-shaped JSON Lines export for the streaming benchmark (stdlib only).

  benches/gen-jsonl.py -n 1000000 -o users.jsonl

One user per line: {id, status, profile: {login, email, firstName, lastName, base44Role,
base44CreditLimit, department}, groups}. Every 10th name is non-ASCII; 2 % are SUSPENDED.
"""
import argparse
import json
import random
import sys

GIVEN = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Zoë", "Łukasz", "明", "José"]
FAMILY = ["Smith", "Johnson", "Williams", "Brown", "Müller", "Nuñez", "王", "Dvořák"]
ROLES = ["admin", "editor", "viewer"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", "--users", type=int, default=1000)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("-o", "--output", default="-")
    a = p.parse_args()
    rng = random.Random(a.seed)
    out = sys.stdout if a.output == "-" else open(a.output, "w", encoding="utf-8")
    for i in range(1, a.users + 1):
        role = rng.choices(ROLES, weights=[1, 9, 90])[0]
        login = f"user{i}@example.com"
        user = {
            "id": f"00u{i:09d}",
            "status": "SUSPENDED" if i % 50 == 0 else "ACTIVE",
            "profile": {
                "login": login, "email": login,
                "firstName": rng.choice(GIVEN), "lastName": rng.choice(FAMILY),
                "base44Role": role, "base44CreditLimit": str(rng.randrange(0, 1000)),
                "department": rng.choice(["Eng", "Sales", "Ops"]),
            },
            "groups": ["Everyone"] + (["Base44 Admins"] if role == "admin" else []),
        }
        out.write(json.dumps(user, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
