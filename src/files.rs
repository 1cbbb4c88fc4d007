//! Owner-only files and directories for local state: the data directory holds the database, the
//! master key and (file transport) mail with sign-in links, none of which others may read.

use std::io;
use std::path::Path;

/// Group and other permission bits: any of them set means someone else can get in.
const OPEN_TO_OTHERS: u32 = 0o077;

/// Creates `dir` with mode 0700 when it does not exist (its parents with the usual
/// permissions). An existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        // Another process (a replica, the CLI) made it in the meantime.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        other => other,
    }
}

/// Creates an empty file with mode 0600 when it does not exist, so that the program that fills
/// it (SQLite) keeps those permissions, and SQLite gives its -wal and -shm files the same.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The permission bits when others (group or world) may access `path`; None when only the owner
/// may, or when it does not exist.
pub fn open_to_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & OPEN_TO_OTHERS != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Warns about state others can read. Existing permissions are not changed: the operator may
/// have chosen them (a shared backup group), and a warning at every start is hard to miss.
pub fn warn_if_open_to_others(path: &Path, what: &str) {
    if let Some(mode) = open_to_others(path) {
        tracing::warn!(
            path = %path.display(),
            mode = %format!("{mode:o}"),
            "{what} is accessible to other users; restrict it with `chmod go-rwx {}`",
            path.display()
        );
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_dirs_and_files_are_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/data");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        create_private_dir(&dir).unwrap();
        let file = dir.join("x.db");
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::write(&file, b"kept").unwrap();
        create_private_file(&file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"kept");
        assert_eq!(open_to_others(&dir), None);
    }

    #[test]
    fn open_permissions_are_reported() {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(open_to_others(root.path()), Some(0o755));
        assert_eq!(open_to_others(&root.path().join("missing")), None);
    }
}
