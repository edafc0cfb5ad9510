//! `examples/systemd/scimsync.service` passes `systemd-analyze verify` (Debian package
//! `systemd`, installed by `.ci/run`), and the check is real: a broken copy of the unit fails it.
//! `systemd-analyze verify` only warns about unknown keys and bad values, so every line it
//! prints about the unit counts as a failure too.

use crate::support;

use std::process::Command;

const UNIT_NAME: &str = "scimsync.service";

fn shipped_unit() -> String {
    std::fs::read_to_string(support::repo().join("examples/systemd").join(UNIT_NAME))
        .expect("read the unit")
}

/// Verifies `unit` (with ExecStart pointed at the binary under test, since verify checks that
/// the executable exists); `Err` carries everything systemd-analyze said.
fn verify(unit: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = unit.replace("/usr/local/bin/scimsync", env!("CARGO_BIN_EXE_scimsync"));
    let path = dir.path().join(UNIT_NAME);
    std::fs::write(&path, unit).expect("write unit");
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .env("SYSTEMD_LOG_LEVEL", "info")
        .env("SYSTEMD_PAGER", "")
        .output()
        .expect("systemd-analyze is not installed (Debian package `systemd`; .ci/run installs it)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let about_unit: Vec<&str> = said.lines().filter(|l| l.contains(UNIT_NAME)).collect();
    if output.status.success() && about_unit.is_empty() {
        Ok(())
    } else {
        Err(said)
    }
}

#[test]
fn the_shipped_unit_passes_systemd_analyze_verify() {
    verify(&shipped_unit()).unwrap_or_else(|said| panic!("systemd-analyze verify:\n{said}"));
}

#[test]
fn a_broken_unit_fails_the_check() {
    let unit = shipped_unit();
    let broken = [
        unit.replace("Type=notify", "Type=notifyy"),
        unit.replace(
            "ProtectSystem=strict",
            "ProtectSystem=strict\nProtectSystm=yes",
        ),
        unit.replace(
            "ExecStart=/usr/local/bin/scimsync",
            "ExecStart=/nonexistent/scimsync",
        ),
    ];
    for unit in broken {
        assert!(verify(&unit).is_err(), "accepted:\n{unit}");
    }
}

#[test]
fn the_unit_is_a_sandboxed_notify_service_with_credentials() {
    let unit = shipped_unit();
    for line in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "WatchdogSec=",
        "DynamicUser=yes",
        "StateDirectory=scimsync",
        "LoadCredential=scim-token:",
        "LoadCredential=ldap-bind-password:",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(line), "{line} missing from the unit");
    }
    // The stop timeout leaves room for scimsync's own shutdown bound (default 30 s).
    assert!(unit.contains("TimeoutStopSec=60"));
}
