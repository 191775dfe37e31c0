//! File-system helpers with the project's safety rules built in: our directories
//! are 0700, our files 0600, whole-file writes are atomic (temp file in the same
//! directory, fsync, rename, fsync of the directory), and nothing follows a
//! symlink planted in place of a file we create.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Create `dir` (and missing parents) with mode 0700. An existing directory is
/// tightened to 0700 when we own it.
///
/// # Errors
/// Any I/O error from creating or chmod-ing the directory.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = fs::metadata(dir)?;
    if meta.permissions().mode() & 0o777 != 0o700 {
        // Only our own directories get here (state dir, run dirs); tighten them.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Write `data` to `path` atomically with mode 0600: a temp file in the same
/// directory, fsync, rename over `path`, fsync of the directory. Readers see the
/// old content or the new, never a mix.
///
/// # Errors
/// Any I/O error; `path` is then unchanged.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".clawrun-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is durable only once the directory entry is on disk.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Open `path` for reading and writing (a lock file), creating it with mode
/// 0600 and keeping what it holds. Refuses to follow a symlink at `path`.
///
/// The descriptor is close-on-exec, as every file the standard library opens
/// (it adds `O_CLOEXEC` whatever the flags say). A `max_sessions` slot
/// (`store::slots`) still reaches the detached runner it is handed to:
/// `sys::session::hand_down_fd` gives the child a `dup2` copy, which the kernel
/// creates without close-on-exec; the parent's own descriptor keeps it, so no
/// other child (the agent, the watcher) inherits the lock.
///
/// # Errors
/// Any I/O error, including `ELOOP` for a symlink.
pub fn open_private_rw(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Most symlinks followed by [`resolve_link`] (the kernel's own limit).
const MAX_LINK_HOPS: usize = 40;

/// The file a write to `path` must replace when `path` may be a symlink a
/// user made (a dotfiles manager links `~/.openclaw/claude_sessions.json`):
/// the links followed to their final target (a relative target is taken
/// from its link's directory); `path` itself when it is no link. A target
/// that does not exist yet is returned as it is (the write creates it).
///
/// # Errors
/// A target that exists but is not a regular file (a directory, a device:
/// writing through a link to `/dev/null` must not replace the device), a
/// loop of links, or an I/O error.
pub fn resolve_link(path: &Path) -> io::Result<std::path::PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        let meta = match fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(e),
        };
        if meta.file_type().is_file() {
            return Ok(p);
        }
        if !meta.file_type().is_symlink() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", p.display()),
            ));
        }
        let target = fs::read_link(&p)?;
        p = match p.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: too many levels of symbolic links", path.display()),
    ))
}

/// [`write_atomic`] for a state file a user may have made a symlink: the new
/// file is written next to the link's final target ([`resolve_link`]) and
/// renamed over it, so the link stays a link and its target gets the data.
///
/// # Errors
/// As [`resolve_link`] and [`write_atomic`]; the target is then unchanged.
pub fn write_atomic_through_links(path: &Path, data: &[u8]) -> io::Result<()> {
    write_atomic(&resolve_link(path)?, data)
}

/// Open `path` for appending, creating it with mode 0600. Refuses to follow a
/// symlink at `path`.
///
/// # Errors
/// Any I/O error, including `ELOOP` for a symlink.
pub fn open_append(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Append one line (a newline is added) to `path`, creating it 0600. The line
/// goes out in one `write` so concurrent appenders do not interleave. When the
/// file does not end with a newline (an append torn by a crash or a full
/// disk), a newline goes first, so the new line is not glued to the torn one.
///
/// # Errors
/// Any I/O error.
pub fn append_line(path: &Path, line: &str) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    let len = file.metadata()?.len();
    let mut last = [b'\n'];
    if len > 0 {
        file.read_exact_at(&mut last, len - 1)?;
    }
    let mut buf = Vec::with_capacity(line.len() + 2);
    if last[0] != b'\n' {
        buf.push(b'\n');
    }
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    file.write_all(&buf)
}

/// Create a new file at `path` with mode 0600, failing if anything exists there
/// (a file or a symlink).
///
/// # Errors
/// `AlreadyExists`, or any other I/O error.
pub fn create_new_private(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Check that `path` may receive an output file by [`write_atomic`] (which
/// renames a new file over it): it is missing, or it is a regular file; its
/// directory exists. A symlink is refused, not followed and not replaced
/// (a link to a device or to a system file must not be written through, and
/// replacing the link would silently break whoever made it); so is anything
/// else that is not a regular file (a directory, a device, a FIFO, a socket:
/// renaming over `/dev/null` would replace the device). Nothing is created.
///
/// # Errors
/// What is wrong, in words for the person who chose the path.
pub fn check_output_target(path: &Path) -> Result<(), String> {
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let kind = meta.file_type();
            if kind.is_file() {
                return Ok(());
            }
            let what = if kind.is_symlink() {
                "a symlink (give the path of the file itself)"
            } else if kind.is_dir() {
                "a directory"
            } else {
                "not a regular file (a device, FIFO or socket)"
            };
            Err(format!("{} is {what}", path.display()))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| Path::new("."));
            if parent.is_dir() {
                Ok(())
            } else {
                Err(format!(
                    "the directory of {} does not exist (it is not created)",
                    path.display()
                ))
            }
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_lock_file_is_private_close_on_exec_and_no_symlink() {
        use std::os::fd::AsRawFd;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("slot-0.lock");
        let file = open_private_rw(&path).unwrap();
        // SAFETY: F_GETFD only reads the descriptor's flags.
        let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFD) };
        assert!(flags & libc::FD_CLOEXEC != 0, "flags {flags:#x}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::os::unix::fs::symlink(&path, tmp.path().join("link")).unwrap();
        assert!(open_private_rw(&tmp.path().join("link")).is_err());
    }

    #[test]
    fn an_append_after_a_torn_line_starts_on_a_new_line() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("log.jsonl");
        append_line(&path, "{\"a\":1}").unwrap();
        // A torn append: no newline at the end.
        let mut f = open_append(&path).unwrap();
        f.write_all(b"{\"b\":\"\xF0\x9F").unwrap();
        append_line(&path, "{\"c\":3}").unwrap();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data, b"{\"a\":1}\n{\"b\":\"\xF0\x9F\n{\"c\":3}\n");
    }

    #[test]
    fn a_write_through_links_keeps_them_and_refuses_a_device() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir(dir.join("real")).unwrap();
        std::fs::write(dir.join("real/file.json"), "old").unwrap();
        // A relative link to a link to the file.
        std::os::unix::fs::symlink("real/file.json", dir.join("mid")).unwrap();
        std::os::unix::fs::symlink(dir.join("mid"), dir.join("state.json")).unwrap();
        write_atomic_through_links(&dir.join("state.json"), b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(dir.join("state.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("real/file.json")).unwrap(),
            "new"
        );
        // A dangling link: its target is created.
        std::os::unix::fs::symlink("real/later.json", dir.join("later")).unwrap();
        write_atomic_through_links(&dir.join("later"), b"x").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("real/later.json")).unwrap(),
            "x"
        );
        // A link to a device, and a loop: refused, nothing replaced.
        std::os::unix::fs::symlink("/dev/null", dir.join("null")).unwrap();
        assert!(write_atomic_through_links(&dir.join("null"), b"x").is_err());
        std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
        assert!(write_atomic_through_links(&dir.join("loop"), b"x").is_err());
    }
}
