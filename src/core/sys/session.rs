//! What a child takes across `exec`: a session of its own ([`new_session`])
//! and a descriptor handed down ([`hand_down_fd`]).

use std::io;
use std::os::fd::RawFd;

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
