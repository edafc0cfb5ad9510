//! The LDAP source against a real OpenLDAP slapd on loopback (tests/peers/ldap-server.sh,
//! seeded by tests/peers/gen-ldif.py): paging, attribute projection as slapd saw it, values,
//! Active Directory's account attributes (served by slapd through a test schema), groups both
//! ways with both nesting policies, StartTLS and ldaps with a CA made at test time, and every
//! way a read must fail rather than return part of the directory. Range retrieval, which no
//! slapd sends, is played by a labelled stand-in server (`range_server`).

use crate::support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use scimsync_lang::record::Record;
use scimsync_lang::value::Value;
use scimsync_source::SourceConfig;
use scimsync_source::{Directory, Projection, SourceError};
use support::ldap::{GROUPS, LdapServer, PEOPLE, source_config as config};

fn read(config: &SourceConfig, projection: &Projection) -> Result<Directory, SourceError> {
    scimsync_source::load_directory(config, projection, Utc::now())
}

fn user<'a>(directory: &'a Directory, uid: &str) -> &'a Record {
    directory
        .users
        .iter()
        .find(|u| u.get("uid") == &Value::from(uid))
        .unwrap_or_else(|| panic!("no user {uid}"))
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4
}

#[test]
fn pages_smaller_than_the_result_deliver_every_user_with_decoded_values() {
    let server = LdapServer::start(12, false);
    let source = config(&server.source_toml(&server.url, "reader", "page_size = 5"));
    let directory = read(&source, &Projection::everything()).unwrap();

    assert_eq!(directory.users.len(), 12);
    // 12 entries in pages of 5: three searches, the last one ending the paging.
    assert_eq!(server.searches(PEOPLE), 3);

    let ids: std::collections::BTreeSet<&str> =
        directory.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids.len(), 12, "identities are unique");
    assert!(
        ids.iter().all(|id| is_uuid(id)),
        "entryUUID identities: {ids:?}"
    );

    let zoe = user(&directory, "user0010");
    assert_eq!(zoe.get("cn"), &Value::from("Zoë Nuñez"));
    assert_eq!(
        zoe.get("dn"),
        &Value::from("uid=user0010,ou=people,dc=example,dc=com")
    );
    let seven = user(&directory, "user0007");
    assert_eq!(
        seven.get("mail"),
        &Value::List(vec![
            Value::from("user0007@example.com"),
            Value::from("user0007.alias@example.com")
        ])
    );
    assert_eq!(
        user(&directory, "user0001").get("mail"),
        &Value::from("user0001@example.com")
    );
    // user0003's shadowExpire is in 1970: disabled; everyone else is active.
    let inactive: Vec<&str> = directory
        .users
        .iter()
        .filter(|u| !u.active)
        .map(|u| u.get("uid").as_str().unwrap_or_default())
        .collect();
    assert_eq!(inactive, ["user0003"]);
    assert_eq!(
        user(&directory, "user0001").groups,
        ["admins", "loop-a", "sales"]
    );
}

#[test]
fn only_the_attributes_the_mapping_reads_are_requested() {
    let server = LdapServer::start(12, false);
    let source = config(&server.source_toml(&server.url, "reader", ""));
    let projection = Projection::only(["mail", "givenName"], false);
    let directory = read(&source, &projection).unwrap();

    assert_eq!(
        server.requested_attributes(PEOPLE),
        [
            "givenName mail objectGUID entryUUID userAccountControl accountExpires nsAccountLock pwdAccountLockedTime shadowExpire"
        ]
    );
    let one = user_by_mail(&directory, "user0001@example.com");
    assert_eq!(
        one.attrs.keys().collect::<Vec<_>>(),
        ["givenName", "mail"],
        "records hold what the mapping reads, under its spelling"
    );
    assert!(one.groups.is_empty());
}

fn user_by_mail<'a>(directory: &'a Directory, mail: &str) -> &'a Record {
    directory
        .users
        .iter()
        .find(|u| u.get("mail") == &Value::from(mail))
        .unwrap_or_else(|| panic!("no user {mail}"))
}

#[test]
fn attribute_names_follow_the_mappings_spelling_and_groups_add_member_of() {
    let server = LdapServer::start(4, false);
    let source = config(&server.source_toml(&server.url, "reader", ""));
    let projection = Projection::only(["GIVENNAME"], true);
    let directory = read(&source, &projection).unwrap();
    assert_eq!(
        server.requested_attributes(PEOPLE),
        [
            "GIVENNAME objectGUID entryUUID userAccountControl accountExpires nsAccountLock pwdAccountLockedTime shadowExpire memberOf"
        ]
    );
    assert!(
        directory
            .users
            .iter()
            .all(|u| u.attrs.keys().collect::<Vec<_>>() == ["GIVENNAME"])
    );
}

#[test]
fn groups_from_member_of_and_from_group_search_agree_and_nesting_is_configurable() {
    let server = LdapServer::start(12, false);
    let everything = Projection::everything();

    let member_of = config(&server.source_toml(
        &server.url,
        "reader",
        &format!("[source.groups]\nmembership = \"member_of\"\nbase_dn = \"{GROUPS}\"\n"),
    ));
    let by_search = config(&server.source_toml(
        &server.url,
        "reader",
        &format!("[source.groups]\nmembership = \"search\"\nbase_dn = \"{GROUPS}\"\n"),
    ));
    let a = read(&member_of, &everything).unwrap();
    let b = read(&by_search, &everything).unwrap();
    for (x, y) in a.users.iter().zip(&b.users) {
        assert_eq!(x.groups, y.groups, "{}", x.label());
    }
    assert_eq!(user(&a, "user0001").groups, ["admins", "loop-a", "sales"]);

    // Groups are records: stable ids, names, members by source id.
    let sales = a.groups.iter().find(|g| g.name == "sales").unwrap();
    assert!(is_uuid(&sales.id));
    assert_eq!(
        sales.attrs.get("description"),
        Some(&Value::from("Département sales"))
    );
    let one = user(&a, "user0001").id.clone();
    assert!(sales.members.contains(&one));
    let staff = a.groups.iter().find(|g| g.name == "staff").unwrap();
    assert!(
        staff.members.is_empty(),
        "direct: staff has only groups as members"
    );
    assert_eq!(staff.member_groups.len(), 4);

    let flattened = config(&server.source_toml(
        &server.url,
        "reader",
        &format!("[source.groups]\nmembership = \"search\"\nbase_dn = \"{GROUPS}\"\nnesting = \"flatten\"\n"),
    ));
    let f = read(&flattened, &everything).unwrap();
    // sales ⊂ staff; loop-a ⊂ loop-b ⊂ loop-a (a cycle, cut).
    assert_eq!(
        user(&f, "user0001").groups,
        ["admins", "loop-a", "loop-b", "sales", "staff"]
    );
    let staff = f.groups.iter().find(|g| g.name == "staff").unwrap();
    assert_eq!(staff.members.len(), 12, "everyone is in a department");

    let posix = config(&server.source_toml(
        &server.url,
        "reader",
        &format!("[source.groups]\nmembership = \"search\"\nbase_dn = \"{GROUPS}\"\nmember_attribute = \"memberUid\"\n"),
    ));
    let p = read(&posix, &everything).unwrap();
    assert_eq!(user(&p, "user0001").groups, ["unix"]);
    assert_eq!(user(&p, "user0002").groups, ["unix"]);
    assert!(user(&p, "user0003").groups.is_empty());

    // Without group entries, memberOf alone names groups by their RDN.
    let bare = config(&server.source_toml(&server.url, "reader", ""));
    let d = read(&bare, &everything).unwrap();
    assert_eq!(user(&d, "user0001").groups, ["admins", "loop-a", "sales"]);
}

#[test]
fn a_rename_keeps_the_identity() {
    let server = LdapServer::start(4, false);
    let source = config(&server.source_toml(&server.url, "reader", ""));
    let before = read(&source, &Projection::everything()).unwrap();
    let id = user(&before, "user0002").id.clone();

    server.modify(
        "dn: uid=user0002,ou=people,dc=example,dc=com\nchangetype: modrdn\nnewrdn: uid=ada\ndeleteoldrdn: 1\n\ndn: uid=ada,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: mail\nmail: ada@example.com\n",
    );
    let after = read(&source, &Projection::everything()).unwrap();
    let ada = user(&after, "ada");
    assert_eq!(ada.id, id);
    assert_eq!(ada.get("mail"), &Value::from("ada@example.com"));
    assert_eq!(after.users.len(), 4);
}

#[test]
fn starttls_and_ldaps_verify_the_server_against_the_ca() {
    let server = LdapServer::start(3, true);
    let ldaps = server.ldaps_url.clone().expect("an ldaps URL");
    let ca = server.ca_file();
    let ca_line = format!("ca_file = \"{}\"", ca.display());

    let starttls = config(&server.source_toml(
        &server.url,
        "reader",
        &format!("starttls = true\n{ca_line}"),
    ));
    assert_eq!(
        read(&starttls, &Projection::everything())
            .unwrap()
            .users
            .len(),
        3
    );
    let tls = config(&server.source_toml(&ldaps, "reader", &ca_line));
    assert_eq!(
        read(&tls, &Projection::everything()).unwrap().users.len(),
        3
    );

    // Verification is on by default: the test CA is not in the system's trust store.
    let untrusted = config(&server.source_toml(&ldaps, "reader", ""));
    let err = read(&untrusted, &Projection::everything())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("cannot connect to LDAP server {ldaps}: "))
            && err.contains("UnknownIssuer"),
        "{err}"
    );
    let untrusted = config(&server.source_toml(&server.url, "reader", "starttls = true"));
    let err = read(&untrusted, &Projection::everything())
        .unwrap_err()
        .to_string();
    assert!(err.contains("UnknownIssuer"), "{err}");

    // Only the loudly named switch turns it off.
    let insecure =
        config(&server.source_toml(&ldaps, "reader", "danger_accept_invalid_certs = true"));
    assert_eq!(
        read(&insecure, &Projection::everything())
            .unwrap()
            .users
            .len(),
        3
    );
}

#[test]
fn a_wrong_password_fails_the_bind_without_showing_it() {
    let server = LdapServer::start(2, false);
    let source = config(&server.source_toml(&server.url, "hunter2-wrong", ""));
    let err = read(&source, &Projection::everything())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "LDAP bind as cn=reader,dc=example,dc=com at {} failed: invalidCredentials (result code 49)",
            server.url
        )
    );
    assert!(!err.contains("hunter2"));
}

#[test]
fn an_unreachable_directory_is_an_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("ldap://127.0.0.1:{port}");
    let source = config(&format!(
        "[source]\nkind = \"ldap\"\nurl = \"{url}\"\nbase_dn = \"{PEOPLE}\"\nconnect_timeout_seconds = 2\n"
    ));
    let err = read(&source, &Projection::everything())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!("cannot connect to LDAP server {url}: connection refused")
    );
}

/// What the fault-injecting proxy does once enough bytes came back from the server.
#[derive(Clone, Copy)]
enum Fault {
    /// Stop the slapd process (by its pid) and keep forwarding whatever is left.
    StopServer,
    /// Keep the connection open and forward nothing more: a server that stopped answering.
    Stall,
}

/// Forwards one connection to `upstream`; once `cut_after` bytes came back from the server,
/// injects `fault`.
fn faulty_proxy(
    upstream: String,
    cut_after: usize,
    server: Arc<LdapServer>,
    fault: Fault,
) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", listener.local_addr().unwrap());
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = stopped.clone();
    let mut server = Some(server);
    std::thread::spawn(move || {
        let Ok((client, _)) = listener.accept() else {
            return;
        };
        let server_stream = TcpStream::connect(upstream.trim_start_matches("ldap://")).unwrap();
        let (mut c_read, mut s_write) = (
            client.try_clone().unwrap(),
            server_stream.try_clone().unwrap(),
        );
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut c_read, &mut s_write);
        });
        let (mut s_read, mut c_write) = (server_stream, client);
        let mut seen = 0usize;
        let mut buf = [0u8; 8192];
        loop {
            let n = match s_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            seen += n;
            if c_write.write_all(&buf[..n]).is_err() {
                break;
            }
            if seen > cut_after && !flag.swap(true, Ordering::SeqCst) {
                match fault {
                    Fault::StopServer => {
                        if let Some(server) = &server {
                            server.stop();
                        }
                    }
                    Fault::Stall => {
                        // Let the test own the server's lifetime, then hold the connection
                        // (bounded) and let it go.
                        drop(server.take());
                        std::thread::sleep(std::time::Duration::from_secs(10));
                        break;
                    }
                }
            }
        }
        let _ = c_write.shutdown(std::net::Shutdown::Both);
    });
    (url, stopped)
}

#[test]
fn a_server_stopped_mid_search_fails_the_read() {
    let server = Arc::new(LdapServer::start(2000, false));
    let (url, stopped) = faulty_proxy(
        server.url.clone(),
        20_000,
        server.clone(),
        Fault::StopServer,
    );
    let source =
        config(&server.source_toml(&url, "reader", "page_size = 100\ntimeout_seconds = 10"));
    let err = read(&source, &Projection::everything())
        .unwrap_err()
        .to_string();
    assert!(stopped.load(Ordering::SeqCst), "the server was stopped");
    assert!(
        err.starts_with(&format!("LDAP search for users under {PEOPLE} failed: ")),
        "{err}"
    );
}

#[test]
fn referrals_abort_unless_ignored() {
    let server = LdapServer::start(3, false);
    server.modify(
        "dn: ou=elsewhere,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: referral\nobjectClass: extensibleObject\nou: elsewhere\nref: ldap://other.example.net/ou=people,dc=other\n",
    );
    let failing = config(&server.source_toml(&server.url, "reader", ""));
    let err = read(&failing, &Projection::everything())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("referred part of the search to ldap://other.example.net/ou=people,dc=other"),
        "{err}"
    );
    let ignoring = config(&server.source_toml(&server.url, "reader", "referrals = \"ignore\""));
    assert_eq!(
        read(&ignoring, &Projection::everything())
            .unwrap()
            .users
            .len(),
        3
    );
}

#[test]
fn a_server_that_stops_answering_times_out() {
    let server = Arc::new(LdapServer::start(2000, false));
    let (url, stalled) = faulty_proxy(server.url.clone(), 20_000, server.clone(), Fault::Stall);
    let source =
        config(&server.source_toml(&url, "reader", "page_size = 100\ntimeout_seconds = 2"));
    let err = read(&source, &Projection::everything())
        .unwrap_err()
        .to_string();
    assert!(stalled.load(Ordering::SeqCst));
    assert_eq!(
        err,
        format!("LDAP search for users under {PEOPLE} failed: timed out waiting for the server")
    );
}

/// An entry with Active Directory's account attributes, which the test slapd knows from
/// tests/peers/ad-test.schema (AD's names and syntaxes; the values are AD's binary forms).
fn ad_user(uid: &str, guid_base64: &str, extra: &str) -> String {
    format!(
        "dn: uid={uid},{PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: scimsyncTestAdAccount\nuid: {uid}\ncn: {uid}\nsn: {uid}\nobjectGUID:: {guid_base64}\n{extra}\n"
    )
}

#[test]
fn active_directory_identities_and_account_flags_from_a_directory() {
    let server = LdapServer::start(1, false);
    // 12d5f564-206d-4b48-914e-b6703f788a58 and S-1-5-21-1004336348-1177238915-682003330-1105
    // in AD's byte order (GUID: first three fields little-endian; SID: little-endian
    // sub-authorities).
    let guid = "ZPXVEm0gSEuRTrZwP3iKWA==";
    let sid = "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==";
    server.modify(
        &[
            ad_user(
                "ada",
                guid,
                &format!("objectSid:: {sid}\nuserAccountControl: 512\naccountExpires: 0\n"),
            ),
            // 0x2: disabled.
            ad_user(
                "bob",
                "AAECAwQFBgcICQoLDA0ODw==",
                "userAccountControl: 514\n",
            ),
            // 2001-01-01T00:00:00Z as FILETIME ticks: expired.
            ad_user(
                "cy",
                "EBESExQVFhcYGRobHB0eHw==",
                "userAccountControl: 512\naccountExpires: 126227808000000000\n",
            ),
            // i64::MAX: never expires.
            ad_user(
                "dee",
                "ICEiIyQlJicoKSorLC0uLw==",
                "accountExpires: 9223372036854775807\n",
            ),
        ]
        .join("\n"),
    );
    let source = config(&server.source_toml(&server.url, "reader", ""));
    let directory = read(&source, &Projection::everything()).unwrap();
    assert_eq!(directory.users.len(), 5);

    let ada = user(&directory, "ada");
    // `id_attribute = "auto"` prefers objectGUID to entryUUID, decoded as AD shows it.
    assert_eq!(ada.id, "12d5f564-206d-4b48-914e-b6703f788a58");
    assert_eq!(
        ada.get("objectGUID"),
        &Value::from("12d5f564-206d-4b48-914e-b6703f788a58")
    );
    assert_eq!(
        ada.get("objectSid"),
        &Value::from("S-1-5-21-1004336348-1177238915-682003330-1105")
    );
    assert_eq!(ada.get("accountExpires"), &Value::Null, "0 means never");
    assert!(ada.active);

    let bob = user(&directory, "bob");
    assert_eq!(bob.id, "03020100-0504-0706-0809-0a0b0c0d0e0f");
    assert!(!bob.active, "userAccountControl 514 has the disabled bit");

    let cy = user(&directory, "cy");
    assert_eq!(
        cy.get("accountExpires"),
        &Value::from("2001-01-01T00:00:00Z")
    );
    assert!(!cy.active, "accountExpires is in the past");

    let dee = user(&directory, "dee");
    assert_eq!(dee.get("accountExpires"), &Value::Null);
    assert!(dee.active);

    // The generated user has no objectGUID: its entryUUID identifies it.
    assert!(is_uuid(&user(&directory, "user0001").id));
}

#[test]
fn two_entries_with_one_identity_stop_the_read_and_both_are_named() {
    let server = LdapServer::start(6, false);
    // employeeType is admin, editor or viewer: an identity attribute no directory should use,
    // which here makes two users share one "identity".
    let source = config(&server.source_toml(
        &server.url,
        "reader",
        "id_attribute = \"employeeType\"\npage_size = 2",
    ));
    let err = read(&source, &Projection::everything())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("LDAP: two entries have the identity `"),
        "{err}"
    );
    // Users are not kept during the read: the first entry is found again for the message.
    let dns: Vec<&str> = err
        .split(|c: char| c.is_whitespace())
        .filter(|w| w.starts_with("uid=user"))
        .collect();
    assert_eq!(dns.len(), 2, "{err}");
    assert_ne!(dns[0], dns[1], "{err}");
    assert!(dns.iter().all(|dn| dn.ends_with(PEOPLE)), "{err}");
}

/// A stand-in for Active Directory in the one case slapd cannot play: range retrieval
/// (`memberOf;range=0-1`, then `memberOf;range=2-*`), which OpenLDAP never sends. It is a
/// fake, not a directory: a loopback listener that answers one connection with
/// hand-encoded BER (ldap3's parser reads the requests), just enough LDAP for a bind and the
/// searches scimsync makes, serving one user whose `memberOf` comes in `ranges`.
mod range_server {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use scimsync_lang::value::Value;

    use ldap3::asn1::{PL, StructureTag, parse_tag};

    pub const DN: &str = "CN=Ada,OU=People,DC=corp,DC=example";

    /// Serves one connection; `ranges` are the `memberOf` values per step, AD-style.
    pub fn start(ranges: Vec<Vec<&'static str>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ldap://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                serve(stream, &ranges);
            }
        });
        url
    }

    fn serve(mut stream: TcpStream, ranges: &[Vec<&str>]) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let (used, request) = match parse_tag(&buf) {
                Ok((rest, tag)) => (buf.len() - rest.len(), tag),
                Err(_) => match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        buf.extend_from_slice(&chunk[..n]);
                        continue;
                    }
                },
            };
            buf.drain(..used);
            let mut parts = request.expect_constructed().unwrap_or_default().into_iter();
            let (Some(id), Some(op)) = (parts.next(), parts.next()) else {
                return;
            };
            let id = id.expect_primitive().unwrap_or_default();
            let reply = match op.id {
                // BindRequest → BindResponse: success.
                0 => vec![message(&id, &result(0x61))],
                // UnbindRequest: the end.
                2 => return,
                // SearchRequest: the user, its first range or the next one.
                3 => search(&id, op, ranges),
                _ => continue,
            };
            if stream.write_all(&reply.concat()).is_err() {
                return;
            }
        }
    }

    fn search(id: &[u8], op: StructureTag, ranges: &[Vec<&str>]) -> Vec<Vec<u8>> {
        let fields = op.expect_constructed().unwrap_or_default();
        let wanted: Vec<String> = fields
            .into_iter()
            .nth(7)
            .and_then(StructureTag::expect_constructed)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| match a.payload {
                PL::P(bytes) => String::from_utf8(bytes).ok(),
                PL::C(_) => None,
            })
            .collect();
        // `memberOf;range=N-*` asks for the values from N on: the step that starts there.
        let asked_from = wanted.iter().find_map(|a| {
            let start = a.split_once(";range=")?.1.split_once('-')?.0;
            start.parse::<usize>().ok()
        });
        let mut start = 0;
        let mut step = 0;
        while step < ranges.len() && start < asked_from.unwrap_or(0) {
            start += ranges[step].len();
            step += 1;
        }
        let values = ranges.get(step).cloned().unwrap_or_default();
        let last = step + 1 >= ranges.len();
        let high = if last {
            "*".to_owned()
        } else {
            (start + values.len() - 1).to_string()
        };
        let range = attribute(&format!("memberOf;range={start}-{high}"), &values);
        let attributes = if asked_from.is_some() {
            vec![range]
        } else {
            vec![
                attribute("objectClass", &["top", "person", "user"]),
                attribute("uid", &["ada"]),
                attribute("entryUUID", &["5f2b5d52-9a52-4f52-8e25-3b1a3e7f0a11"]),
                range,
            ]
        };
        let entry = ber(
            0x64,
            &[octets(DN.as_bytes()), ber(0x30, &attributes.concat())].concat(),
        );
        vec![message(id, &entry), message(id, &result(0x65))]
    }

    /// LDAPMessage ::= SEQUENCE { messageID, protocolOp }
    fn message(id: &[u8], op: &[u8]) -> Vec<u8> {
        ber(0x30, &[ber(0x02, id), op.to_vec()].concat())
    }

    /// An LDAPResult saying success, under the given application tag.
    fn result(tag: u8) -> Vec<u8> {
        ber(tag, &[ber(0x0a, &[0]), octets(b""), octets(b"")].concat())
    }

    fn attribute(name: &str, values: &[&str]) -> Vec<u8> {
        let set: Vec<u8> = values.iter().flat_map(|v| octets(v.as_bytes())).collect();
        ber(0x30, &[octets(name.as_bytes()), ber(0x31, &set)].concat())
    }

    fn octets(bytes: &[u8]) -> Vec<u8> {
        ber(0x04, bytes)
    }

    /// One BER element: tag, definite length, content.
    fn ber(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    /// The group names (RDN values) `memberOf` DNs give.
    pub fn names(values: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = values
            .iter()
            .map(|dn| {
                dn.trim_start_matches("CN=")
                    .split(',')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        names.sort();
        names
    }

    pub fn list(values: &[&str]) -> Value {
        Value::List(values.iter().map(|v| Value::from(*v)).collect())
    }
}

#[test]
fn range_retrieval_reads_every_range_of_a_large_attribute() {
    let groups = [
        "CN=g0,OU=Groups,DC=corp,DC=example",
        "CN=g1,OU=Groups,DC=corp,DC=example",
        "CN=g2,OU=Groups,DC=corp,DC=example",
        "CN=g3,OU=Groups,DC=corp,DC=example",
        "CN=g4,OU=Groups,DC=corp,DC=example",
    ];
    // As AD sends a large attribute: 0-1, then 2-3, then 4-* (AD's steps are 1,500 values).
    let url = range_server::start(vec![
        groups[..2].to_vec(),
        groups[2..4].to_vec(),
        groups[4..].to_vec(),
    ]);
    let source = config(&format!(
        "[source]\nkind = \"ldap\"\nurl = \"{url}\"\nbase_dn = \"DC=corp,DC=example\"\n"
    ));
    let directory = read(&source, &Projection::everything()).unwrap();
    assert_eq!(directory.users.len(), 1);
    let ada = &directory.users[0];
    // Every range, in order, under the attribute's own name.
    assert_eq!(ada.get("memberOf"), &range_server::list(&groups));
    assert!(
        ada.attrs.keys().all(|k| !k.contains(";range=")),
        "{:?}",
        ada.attrs
    );
    assert_eq!(ada.groups, range_server::names(&groups));
    assert_eq!(directory.groups.len(), 5);
    assert!(
        directory
            .groups
            .iter()
            .all(|g| g.members == [ada.id.clone()])
    );
}
