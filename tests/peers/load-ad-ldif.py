#!/usr/bin/python3
"""Adds LDIF entries (then applies modify LDIFs) to a *stopped* Samba AD DC's sam.ldb through
Samba's full dsdb module stack, so objectGUID, objectSid and the memberOf back-links are made
as by a real add, in one transaction; optionally adds a service account with a password.
Used by tests/peers/samba-ad.sh.

    load-ad-ldif.py SMB_CONF ADD.ldif [MODIFY.ldif ...] [--service-account DN PASSWORD_FILE]
"""
import sys
import time

from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

args = sys.argv[1:]
service = None
if "--service-account" in args:
    at = args.index("--service-account")
    service = (args[at + 1], args[at + 2])
    del args[at:at + 3]
conf, add_file, modify_files = args[0], args[1], args[2:]

lp = LoadParm()
lp.load(conf)
started = time.time()
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
db.transaction_start()
try:
    added = 0
    with open(add_file, encoding="utf-8") as f:
        for _, message in db.parse_ldif(f.read()):
            db.add(message)
            added += 1
    for name in modify_files:
        with open(name, encoding="utf-8") as f:
            for _, message in db.parse_ldif(f.read()):
                db.modify(message)
    if service:
        dn, password_file = service
        with open(password_file) as f:
            password = f.read().strip()
        sam = dn.split(",", 1)[0].split("=", 1)[1]
        db.add({"dn": dn, "objectClass": "user", "sAMAccountName": sam,
                "userPrincipalName": f"{sam}@{lp.get('realm').lower()}",
                "unicodePwd": ('"%s"' % password).encode("utf-16-le"),
                "userAccountControl": "66048"})
        added += 1
    db.transaction_commit()
except Exception:
    db.transaction_cancel()
    raise
print(f"added {added} entries in {time.time() - started:.1f}s", file=sys.stderr)
