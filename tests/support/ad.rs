//! A real Active Directory domain controller (Samba's AD DC) on 127.0.0.1 for tests, started
//! through `tests/peers/samba-ad.sh` and seeded by `tests/peers/gen-ad-ldif.py`.
//!
//! Samba listens on fixed ports (389, 636, 3268, 3269), so a test binary provisions one DC on
//! first use and shares it ([`dc`]); the script stops it by its PID and removes its directory
//! once this process has exited, however it exits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value as Json;

use super::repo;

/// Users the shared DC is seeded with: thousands, and "All Staff" over 1,500 members.
pub const USERS: usize = 2000;
pub const BASE_DN: &str = "DC=corp,DC=example,DC=test";
pub const STAFF_DN: &str = "OU=Staff,OU=Corp,DC=corp,DC=example,DC=test";
pub const GROUPS_DN: &str = "OU=Groups,OU=Corp,DC=corp,DC=example,DC=test";
/// Users and groups the directory-change test changes; no other test reads them.
pub const DAY_DN: &str = "OU=Day,OU=Corp,DC=corp,DC=example,DC=test";
/// AD's user filter.
pub const USER_FILTER: &str = "(&(objectCategory=person)(objectClass=user))";

/// The running DC: what `samba-ad.sh start` printed.
pub struct SambaAd {
    values: BTreeMap<String, String>,
    pub state: PathBuf,
}

static DC: OnceLock<SambaAd> = OnceLock::new();

/// The test binary's DC, provisioned, seeded and started on first use.
pub fn dc() -> &'static SambaAd {
    DC.get_or_init(SambaAd::start)
}

impl SambaAd {
    fn start() -> SambaAd {
        let state = std::env::temp_dir().join(format!("scimsync-ad-{}", std::process::id()));
        let started = std::time::Instant::now();
        let output = Command::new(repo().join("tests/peers/samba-ad.sh"))
            .arg("start")
            .arg(&state)
            .arg(USERS.to_string())
            .env("AD_OWNER_PID", std::process::id().to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run tests/peers/samba-ad.sh");
        if !output.status.success() {
            // Nothing watches a DC that did not start: its directory goes now.
            let _ = std::fs::remove_dir_all(&state);
            panic!(
                "the Samba AD DC did not start:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        eprintln!(
            "Samba AD DC provisioned and started in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let values = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        SambaAd { values, state }
    }

    fn value(&self, key: &str) -> &str {
        self.values
            .get(key)
            .unwrap_or_else(|| panic!("samba-ad.sh printed no {key}"))
    }

    pub fn ldaps_url(&self) -> &str {
        self.value("ldaps_url")
    }

    pub fn ldap_url(&self) -> &str {
        self.value("ldap_url")
    }

    pub fn gc_url(&self) -> &str {
        self.value("gc_url")
    }

    pub fn ca_file(&self) -> &Path {
        Path::new(self.value("ca_file"))
    }

    pub fn bind_dn(&self) -> &str {
        self.value("bind_dn")
    }

    pub fn bind_password_file(&self) -> &Path {
        Path::new(self.value("bind_password_file"))
    }

    /// What the seed generator says a correct reader sees (`expected.json`).
    pub fn expected(&self) -> Json {
        let text = std::fs::read_to_string(self.value("expected")).expect("expected.json");
        serde_json::from_str(&text).expect("expected.json is JSON")
    }

    /// The `[source]` TOML: `url`, bound as the read-only service account, users under
    /// `base_dn`, then `extra` keys (`[groups]` for the groups table).
    pub fn source_toml(&self, url: &str, base_dn: &str, extra: &str) -> String {
        format!(
            "[source]\nkind = \"ldap\"\nurl = \"{url}\"\nca_file = \"{}\"\nbind_dn = \"{}\"\nbind_password_file = \"{}\"\nbase_dn = \"{base_dn}\"\nfilter = \"{USER_FILTER}\"\n{extra}\n",
            self.ca_file().display(),
            self.bind_dn(),
            self.bind_password_file().display()
        )
    }

    /// Runs `ldapsearch` as the service account over ldaps with `extra` arguments; the LDIF
    /// comes back unwrapped.
    pub fn ldapsearch(&self, extra: &[&str]) -> String {
        let output = Command::new("ldapsearch")
            .args(["-LLL", "-o", "ldif-wrap=no", "-x", "-H", self.ldaps_url()])
            .args(["-D", self.bind_dn(), "-y"])
            .arg(self.bind_password_file())
            .args(extra)
            .env("LDAPTLS_CACERT", self.ca_file())
            .output()
            .expect("run ldapsearch");
        assert!(
            output.status.success(),
            "ldapsearch failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Applies LDIF changes as the domain's Administrator, over ldaps (ldapmodify).
    pub fn modify(&self, ldif: &str) {
        let mut command = Command::new("ldapmodify");
        command
            .args([
                "-x",
                "-H",
                self.ldaps_url(),
                "-D",
                self.value("admin_bind_dn"),
            ])
            .arg("-y")
            .arg(self.value("admin_password_file"))
            .env("LDAPTLS_CACERT", self.ca_file());
        super::ldap::ldapmodify(command, ldif);
    }
}
