//! A private OpenLDAP slapd on loopback for tests, started through
//! `tests/peers/ldap-server.sh` and seeded from the project's deterministic generator
//! (`tests/peers/gen-ldif.py`). Stopped (by its pid) when the handle drops.

use std::path::PathBuf;
use std::process::Command;

use super::repo;

pub const SUFFIX: &str = "dc=example,dc=com";
pub const READER_DN: &str = "cn=reader,dc=example,dc=com";
pub const READER_PASSWORD: &str = "reader";
pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
pub const GROUPS: &str = "ou=groups,dc=example,dc=com";

pub struct LdapServer {
    pub url: String,
    /// With TLS: the ldaps:// URL.
    pub ldaps_url: Option<String>,
    pub state: tempfile::TempDir,
}

impl LdapServer {
    /// A server seeded with `users` generated users (and their groups).
    pub fn start(users: usize, tls: bool) -> LdapServer {
        let state = tempfile::Builder::new()
            .prefix("scimsync-ldap-")
            .tempdir()
            .expect("temp dir");
        let ldif = state.path().join("seed.ldif");
        let generated = Command::new("python3")
            .arg(repo().join("tests/peers/gen-ldif.py"))
            .args(["-n", &users.to_string(), "-o"])
            .arg(&ldif)
            .status()
            .expect("run gen-ldif.py");
        assert!(generated.success(), "gen-ldif.py failed");
        let output = Command::new(repo().join("tests/peers/ldap-server.sh"))
            .args(["start", "0"])
            .arg(&ldif)
            .arg(state.path().join("slapd"))
            .env("LDAP_TLS", if tls { "1" } else { "0" })
            .output()
            .expect("run tests/peers/ldap-server.sh");
        assert!(
            output.status.success(),
            "slapd did not start:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut lines = stdout.lines();
        let url = lines.next().expect("ldap URL").trim().to_owned();
        assert!(url.starts_with("ldap://127.0.0.1:"), "unexpected URL {url}");
        let ldaps_url = lines.next().map(|l| l.trim().to_owned());
        LdapServer {
            url,
            ldaps_url,
            state,
        }
    }

    fn slapd_state(&self) -> PathBuf {
        self.state.path().join("slapd")
    }

    /// The test CA's certificate (with TLS).
    pub fn ca_file(&self) -> PathBuf {
        self.slapd_state().join("tls/ca.pem")
    }

    /// slapd's log (stats level): one `SRCH attr=...` line per search.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.slapd_state().join("slapd.log")).unwrap_or_default()
    }

    /// The attribute lists of every search under `base`, in order.
    pub fn requested_attributes(&self, base: &str) -> Vec<String> {
        let log = self.log();
        let mut out = Vec::new();
        let mut wanted_ops = std::collections::HashSet::new();
        for line in log.lines() {
            let Some(op) = op_key(line) else { continue };
            if line.contains(&format!("SRCH base=\"{base}\"")) {
                wanted_ops.insert(op.to_owned());
            } else if let Some(at) = line.find("SRCH attr=")
                && wanted_ops.contains(op)
            {
                out.push(line[at + "SRCH attr=".len()..].trim().to_owned());
            }
        }
        out
    }

    /// How many searches ran under `base`.
    pub fn searches(&self, base: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains(&format!("SRCH base=\"{base}\"")))
            .count()
    }

    pub fn stop(&self) {
        let _ = Command::new(repo().join("tests/peers/ldap-server.sh"))
            .arg("stop")
            .arg(self.slapd_state())
            .output();
    }

    /// Applies LDIF changes as the directory's administrator (ldapmodify).
    pub fn modify(&self, ldif: &str) {
        let mut command = Command::new("ldapmodify");
        command.args([
            "-x",
            "-H",
            &self.url,
            "-D",
            "cn=admin,dc=example,dc=com",
            "-w",
            "secret",
        ]);
        ldapmodify(command, ldif);
    }

    /// A file holding `password`, for `bind_password_file`.
    pub fn password_file(&self, password: &str) -> PathBuf {
        let path = self
            .state
            .path()
            .join(format!("password-{}", password.len()));
        std::fs::write(&path, format!("{password}\n")).expect("write password file");
        path
    }

    /// The `[source]` TOML for this server at `url`, bound as the reader, plus `extra` keys.
    pub fn source_toml(&self, url: &str, password: &str, extra: &str) -> String {
        format!(
            "[source]\nkind = \"ldap\"\nurl = \"{url}\"\nbind_dn = \"{READER_DN}\"\nbind_password_file = \"{}\"\nbase_dn = \"{PEOPLE}\"\nfilter = \"(objectClass=inetOrgPerson)\"\n{extra}\n",
            self.password_file(password).display()
        )
    }
}

/// Runs `command` (an `ldapmodify` with its connection arguments) on `ldif`; panics with its
/// error output when it fails.
pub fn ldapmodify(mut command: Command, ldif: &str) {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ldapmodify");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ldif.as_bytes())
        .expect("write LDIF");
    let output = child.wait_with_output().expect("ldapmodify");
    assert!(
        output.status.success(),
        "ldapmodify failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `[source]` table (`toml_text` holds it and anything else), its LDAP settings validated.
pub fn source_config(toml_text: &str) -> scimsync_source::SourceConfig {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        source: scimsync_source::SourceConfig,
    }
    let config = toml::from_str::<Wrapper>(toml_text)
        .expect("valid [source]")
        .source;
    if let scimsync_source::SourceConfig::Ldap(ldap) = &config {
        ldap.validate().expect("valid LDAP settings");
    }
    config
}

/// `conn=1000 op=2` from a slapd stats line.
fn op_key(line: &str) -> Option<&str> {
    let start = line.find("conn=")?;
    let rest = &line[start..];
    let op = rest.find(" op=")?;
    let end = rest[op + 4..].find(' ').map_or(rest.len(), |e| op + 4 + e);
    Some(&rest[..end])
}

impl Drop for LdapServer {
    fn drop(&mut self) {
        self.stop();
    }
}
