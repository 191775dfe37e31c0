//! What a child takes across `exec`: a session of its own ([`new_session`]),
//! a descriptor handed down ([`hand_down_fd`]), and this process replaced by
//! another program ([`exec_with_stdin`]).

use std::io;
use std::os::fd::RawFd;
use std::path::Path;

/// Replace this process with `exe args…` (exec: signals, output and exit
/// code become the new program's), its stdin an unlinked private temporary
/// file holding `stdin` when given — so a task never shows in argv.
/// Returns only on failure.
pub fn exec_with_stdin(exe: &Path, args: &[std::ffi::OsString], stdin: Option<&str>) -> io::Error {
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args);
    if let Some(text) = stdin {
        let file = tempfile::tempfile().and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.seek(SeekFrom::Start(0))?;
            Ok(f)
        });
        match file {
            Ok(f) => {
                cmd.stdin(f);
            }
            Err(e) => return e,
        }
    }
    cmd.exec()
}

/// Make the child of `cmd` the leader of a new session (`setsid` before
/// exec): a closing terminal or the parent's exit does not reach it.
pub fn new_session(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe, and the closure makes no other call.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Give the child of `cmd` the open file `fd` as descriptor `target`
/// (`dup2` before exec; the copy is not closed on exec). The parent's `fd`
/// is untouched.
pub fn hand_down_fd(cmd: &mut std::process::Command, fd: RawFd, target: RawFd) {
    use std::os::unix::process::CommandExt;
    // SAFETY: dup2 and fcntl are async-signal-safe, and the closure makes no
    // other call.
    unsafe {
        cmd.pre_exec(move || {
            if fd == target {
                // dup2 onto itself keeps close-on-exec: clear it instead.
                if libc::fcntl(target, libc::F_SETFD, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
            } else if libc::dup2(fd, target) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{Read, Seek, SeekFrom};
    use std::os::fd::AsRawFd;

    #[test]
    fn a_close_on_exec_descriptor_handed_down_reaches_the_child() {
        // Every file std opens is close-on-exec; the child gets a dup2 copy.
        let mut file = tempfile::tempfile().unwrap();
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "echo handed >&7"]);
        hand_down_fd(&mut cmd, file.as_raw_fd(), 7);
        assert!(cmd.status().unwrap().success());
        let mut text = String::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "handed\n");
        // Without it, the descriptor is not open in the child.
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "echo lost >&7"]);
        assert!(!cmd.status().unwrap().success());
    }
}
