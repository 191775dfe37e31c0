//! An atomic copy: the one file operation of the runner that is not a run
//! directory's own (those are `store::fsutil`'s).

use std::path::Path;

/// Copy `from` to `to` atomically: a temporary file in `to`'s directory
/// (0600), fsync'ed, renamed over `to`. A reader sees the old file or the
/// whole new one.
///
/// # Errors
/// Any I/O error; `to` is then untouched.
pub fn copy_atomic(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".clawrun-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    std::io::copy(&mut std::fs::File::open(from)?, tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist(to).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_copy_replaces_the_target_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&from, "new text").unwrap();
        std::fs::write(&to, "old").unwrap();
        copy_atomic(&from, &to).unwrap();
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "new text");
        let mode = std::fs::metadata(&to).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A missing source leaves the target as it was.
        assert!(copy_atomic(&dir.path().join("none"), &to).is_err());
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "new text");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file left behind");
    }
}
