//! Files private to the user scimsync runs as: every file scimsync creates (the state, its
//! temporary file, its lock file, the audit log) is created with mode 0600, since it may hold what a target
//! said about its users; and a secret file that others can read is told apart, so the caller
//! can warn about it as ssh does.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

const PRIVATE: u32 = 0o600;

/// Creates (or truncates) `path` for writing, readable and writable by its owner only. A file
/// left over at that path (say a temporary file from a crash) is made private too.
pub fn create(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(PRIVATE)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(PRIVATE))?;
    Ok(file)
}

/// Opens `path` for appending, creating it readable and writable by its owner only. The mode
/// of an existing file is left as it is: an admin may have opened it to a log shipper.
pub fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(PRIVATE)
        .open(path)
}

/// Opens `path` for reading and writing without truncating it (a lock file), creating it
/// readable and writable by its owner only.
pub fn read_write(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE)
        .open(path)
}

/// The permission bits of `path` when its group or others have any access to it.
pub fn open_to_others(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn created_files_are_private_even_over_a_leftover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json.tmp");
        std::fs::write(&path, "left over").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        drop(create(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        let fresh = dir.path().join("fresh");
        drop(create(&fresh).unwrap());
        assert_eq!(mode(&fresh), 0o600);
    }

    #[test]
    fn appended_and_lock_files_are_created_private_and_existing_ones_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("audit.jsonl");
        drop(append(&fresh).unwrap());
        assert_eq!(mode(&fresh), 0o600);
        let lock = dir.path().join("state.json.lock");
        drop(read_write(&lock).unwrap());
        assert_eq!(mode(&lock), 0o600);
        let shipped = dir.path().join("shipped.jsonl");
        std::fs::write(&shipped, "{}\n").unwrap();
        std::fs::set_permissions(&shipped, Permissions::from_mode(0o640)).unwrap();
        drop(append(&shipped).unwrap());
        assert_eq!(mode(&shipped), 0o640);
        assert_eq!(std::fs::read_to_string(&shipped).unwrap(), "{}\n");
    }

    #[test]
    fn files_open_to_group_or_others_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "t").unwrap();
        for (bits, expected) in [
            (0o600, None),
            (0o400, None),
            (0o640, Some(0o640)),
            (0o604, Some(0o604)),
            (0o620, Some(0o620)),
        ] {
            std::fs::set_permissions(&path, Permissions::from_mode(bits)).unwrap();
            assert_eq!(open_to_others(&path), expected, "{bits:o}");
        }
        assert_eq!(open_to_others(&dir.path().join("missing")), None);
    }
}
