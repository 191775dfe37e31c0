//! The cap on agents running at once (`[limits] max_sessions`): a semaphore
//! made of lock files, and a first-come-first-served queue in front of it.
//!
//! `<state dir>/slots/` holds `slot-<i>.lock` for `i` in `0..max`. A run holds
//! one slot with an exclusive `flock(2)` from before its agent starts until the
//! agent's process group is gone. The kernel drops the lock when the last
//! holder of the open file closes it, however it dies (SIGKILL, OOM), so a
//! crashed runner never keeps a slot and there is nothing to reap. Launches
//! that race each other cannot both win one slot: the lock is the check.
//!
//! A slot can be handed to a child process: the lock belongs to the open file,
//! not to a process, so a launcher that takes a slot and passes its descriptor
//! to the detached runner it starts ([`Slot::as_raw_fd`], [`Slots::adopt`])
//! keeps the slot taken across its own exit. That is why the lock is never
//! released explicitly (`LOCK_UN` would release it for every holder): dropping
//! a [`Slot`] only closes this process's descriptor.
//!
//! A queued run (`--queue`) takes a numbered ticket: `waiting/<number>-<run id>`,
//! locked by its waiter for as long as it waits. A slot goes to the live ticket
//! with the lowest number, so queued runs start in the order they were
//! launched. A ticket whose lock can be taken belongs to a waiter that died and
//! is removed. A ticket is created under a temporary name and renamed into the
//! queue only once it is locked, so nobody can see it unlocked and take it for
//! a dead waiter's. A launch without `--queue` takes a free slot only when
//! nobody is queued, so it cannot overtake the queue.
//!
//! Hand-written because no crate offers a cross-process counting semaphore
//! that survives the death of its holders and can be handed to a child;
//! `flock` is the primitive.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use crate::core::store::fsutil;

/// How long the first waiter in the queue waits between looks for a slot.
pub const HEAD_POLL: Duration = Duration::from_millis(50);
/// How long the other waiters wait between looks at their place in the queue.
pub const QUEUE_POLL: Duration = Duration::from_millis(250);

/// The slots of one state directory.
#[derive(Debug, Clone)]
pub struct Slots {
    dir: PathBuf,
    max: u32,
}

/// One held slot. Dropping it closes this process's descriptor; the slot is
/// free once no process holds the descriptor any more.
#[derive(Debug)]
pub struct Slot {
    file: File,
    index: u32,
}

impl Slot {
    /// Which slot this is (`0..max`).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The descriptor holding the lock, to pass to a child that takes the
    /// slot over (see [`Slots::adopt`]).
    pub fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// A place in the queue; dropping it leaves the queue.
#[derive(Debug)]
pub struct Ticket {
    /// Holds the ticket's lock while the ticket lives.
    _lock: File,
    path: PathBuf,
    number: u64,
}

impl Ticket {
    /// The ticket's number: lower numbers start first.
    pub fn number(&self) -> u64 {
        self.number
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        // Remove the file while still holding its lock, so no other process
        // mistakes it for a dead waiter's ticket in between.
        let _ = fs::remove_file(&self.path);
    }
}

/// A run waiting in the queue, as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// Queue position order: lower starts first.
    pub number: u64,
    /// The waiting run's id.
    pub run_id: String,
}

/// What a launch without `--queue` found when no slot was free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    /// Slots in use.
    pub held: u32,
    /// Runs waiting in the queue.
    pub queued: usize,
}

impl Slots {
    /// The slots under `<state dir>/slots`, `max` of them.
    pub fn new(state_dir: &Path, max: u32) -> Self {
        Self {
            dir: state_dir.join("slots"),
            max: max.max(1),
        }
    }

    /// The cap.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Take a free slot now, unless the queue is not empty.
    ///
    /// # Errors
    /// `Ok(Err(Full))` when every slot is held or runs are queued; `Err` for
    /// an I/O error on the slots directory.
    pub fn try_acquire(&self) -> io::Result<Result<Slot, Full>> {
        let queued = self.waiting()?.len();
        if queued == 0 {
            if let Some(slot) = self.grab()? {
                return Ok(Ok(slot));
            }
        }
        Ok(Err(Full {
            held: self.held()?,
            queued,
        }))
    }

    /// Join the queue as `run_id`.
    ///
    /// # Errors
    /// An I/O error on the slots directory, or a run id that is not a plain
    /// file name.
    pub fn enqueue(&self, run_id: &str) -> io::Result<Ticket> {
        if run_id.is_empty() || run_id.contains(['/', '\0', '\n']) || run_id.starts_with('.') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a run id: {run_id:?}"),
            ));
        }
        let waiting = self.dir.join("waiting");
        fsutil::create_private_dir(&waiting)?;
        // Numbered under the counter's lock, so a later ticket never has a
        // lower number; locked before it gets its name in the queue, so it is
        // never seen unlocked there.
        let counter = fsutil::open_private_rw(&self.dir.join("counter"))?;
        let mut counter =
            Flock::lock(counter, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
        remove_stale_new_tickets(&waiting);
        let number = next_number(&mut counter)?;
        let name = format!("{number:020}-{run_id}");
        let new = waiting.join(format!(".new-{name}"));
        let file = fsutil::open_private_rw(&new)?;
        if !try_flock(&file, true)? {
            return Err(io::Error::other(format!(
                "{} is locked by another process",
                new.display()
            )));
        }
        let path = waiting.join(name);
        fs::rename(&new, &path)?;
        Ok(Ticket {
            _lock: file,
            path,
            number,
        })
    }

    /// Take a slot for `ticket` if it is first in the queue and a slot is free.
    ///
    /// # Errors
    /// An I/O error on the slots directory.
    pub fn try_acquire_queued(&self, ticket: &Ticket) -> io::Result<Option<Slot>> {
        if self.position(ticket)? != Some(0) {
            return Ok(None);
        }
        self.grab()
    }

    /// Where `ticket` stands in the queue (0 = next to start); `None` when it
    /// is not in the queue (its file was removed).
    ///
    /// # Errors
    /// An I/O error reading the queue directory.
    pub fn position(&self, ticket: &Ticket) -> io::Result<Option<usize>> {
        Ok(self
            .waiting()?
            .iter()
            .position(|w| w.number == ticket.number))
    }

    /// Wait in the queue until a slot is ours: the first in line looks every
    /// `HEAD_POLL`, the others every `QUEUE_POLL`.
    ///
    /// # Errors
    /// An I/O error on the slots directory, or a ticket that left the queue.
    pub async fn acquire_queued(&self, ticket: &Ticket) -> io::Result<Slot> {
        loop {
            match self.position(ticket)? {
                Some(0) => {
                    if let Some(slot) = self.grab()? {
                        return Ok(slot);
                    }
                    tokio::time::sleep(HEAD_POLL).await;
                }
                Some(_) => tokio::time::sleep(QUEUE_POLL).await,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("the queue ticket {} is gone", ticket.path.display()),
                    ));
                }
            }
        }
    }

    /// The live tickets, first in line first. Tickets of dead waiters are
    /// removed on the way.
    ///
    /// # Errors
    /// An I/O error reading the queue directory.
    pub fn waiting(&self) -> io::Result<Vec<Waiting>> {
        let dir = self.dir.join("waiting");
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut live = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((number, run_id)) = parse_ticket(&name) else {
                continue;
            };
            if is_locked(&entry.path())? {
                live.push(Waiting {
                    number,
                    run_id: run_id.to_owned(),
                });
            } else {
                let _ = fs::remove_file(entry.path());
            }
        }
        live.sort_by_key(|w| w.number);
        Ok(live)
    }

    /// How many slots are held now.
    ///
    /// # Errors
    /// An I/O error on the slots directory.
    pub fn held(&self) -> io::Result<u32> {
        let mut n = 0;
        for i in 0..self.max {
            if is_locked(&self.slot_path(i))? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Take over the slot whose lock a parent handed down as descriptor `fd`
    /// (see [`Slot::as_raw_fd`]). The descriptor is closed on exec from now
    /// on, so the agent does not inherit it.
    ///
    /// # Errors
    /// When `fd` is not open, is not one of these slot files, or does not
    /// hold its lock.
    pub fn adopt(&self, fd: RawFd) -> io::Result<Slot> {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the descriptor is open (checked above), and it was handed
        // to this process for this alone: nothing else here owns it.
        let file = unsafe { File::from_raw_fd(fd) };
        // SAFETY: F_SETFD sets the descriptor's flags; no memory is touched.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let meta = file.metadata()?;
        let index = fs::read_dir(&self.dir)?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let index: u32 = name
                    .strip_prefix("slot-")?
                    .strip_suffix(".lock")?
                    .parse()
                    .ok()?;
                let m = fs::symlink_metadata(e.path()).ok()?;
                (m.dev() == meta.dev() && m.ino() == meta.ino()).then_some(index)
            })
            .next()
            .ok_or_else(|| io::Error::other(format!("descriptor {fd} is not a slot file")))?;
        // Taking the lock again through the same open file succeeds exactly
        // when that open file holds it.
        if !try_flock(&file, true)? {
            return Err(io::Error::other(format!(
                "descriptor {fd} does not hold slot {index}"
            )));
        }
        Ok(Slot { file, index })
    }

    fn slot_path(&self, i: u32) -> PathBuf {
        self.dir.join(format!("slot-{i}.lock"))
    }

    /// Lock the first free slot file. A second pass a moment later, because
    /// [`Slots::held`] (run by `list`, `status`, a refused launch) takes a
    /// shared lock on each slot for an instant, and a free slot probed just
    /// then looks held.
    fn grab(&self) -> io::Result<Option<Slot>> {
        fsutil::create_private_dir(&self.dir)?;
        for pass in 0..2 {
            if pass > 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            for index in 0..self.max {
                let file = fsutil::open_private_rw(&self.slot_path(index))?;
                if try_flock(&file, true)? {
                    return Ok(Some(Slot { file, index }));
                }
            }
        }
        Ok(None)
    }
}

/// `flock(file, LOCK_NB | exclusive or shared)`: `Ok(false)` when another
/// open file holds a conflicting lock. The lock is never released explicitly:
/// closing the last descriptor of the open file releases it.
pub(crate) fn try_flock(file: &File, exclusive: bool) -> io::Result<bool> {
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    } | libc::LOCK_NB;
    loop {
        // SAFETY: flock on a descriptor `file` owns; no memory is touched.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

/// Remove tickets left half-made (`.new-…`) by an enqueuer that died; the
/// caller holds the counter's lock, so no enqueuer is at work.
fn remove_stale_new_tickets(waiting: &Path) {
    let Ok(entries) = fs::read_dir(waiting) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".new-") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The next ticket number from the counter file, whose lock the caller holds.
fn next_number(counter: &mut File) -> io::Result<u64> {
    let mut text = String::new();
    counter.read_to_string(&mut text)?;
    let number = text.trim().parse::<u64>().unwrap_or(0) + 1;
    counter.set_len(0)?;
    counter.seek(SeekFrom::Start(0))?;
    counter.write_all(number.to_string().as_bytes())?;
    counter.sync_data()?;
    Ok(number)
}

/// Whether another process holds the lock on `path` (a missing file is not
/// locked). The probe's own shared lock goes with its descriptor.
fn is_locked(path: &Path) -> io::Result<bool> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(!try_flock(&file, false)?)
}

/// `<20-digit number>-<run id>` → (number, run id).
fn parse_ticket(name: &str) -> Option<(u64, &str)> {
    let (number, run_id) = name.split_once('-')?;
    Some((number.parse().ok()?, run_id))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn at_most_max_slots_are_held() {
        let tmp = tempfile::tempdir().unwrap();
        let slots = Slots::new(tmp.path(), 2);
        let a = slots.try_acquire().unwrap().unwrap();
        let b = slots.try_acquire().unwrap().unwrap();
        assert_ne!(a.index(), b.index());
        let full = slots.try_acquire().unwrap().unwrap_err();
        assert_eq!(full, Full { held: 2, queued: 0 });
        drop(a);
        assert_eq!(slots.held().unwrap(), 1);
        assert!(slots.try_acquire().unwrap().is_ok());
    }

    #[test]
    fn the_queue_is_first_come_first_served_and_blocks_overtaking() {
        let tmp = tempfile::tempdir().unwrap();
        let slots = Slots::new(tmp.path(), 1);
        let held = slots.try_acquire().unwrap().unwrap();
        let first = slots.enqueue("run-a").unwrap();
        let second = slots.enqueue("run-b").unwrap();
        assert!(first.number() < second.number());
        let names: Vec<_> = slots
            .waiting()
            .unwrap()
            .into_iter()
            .map(|w| w.run_id)
            .collect();
        assert_eq!(names, ["run-a", "run-b"]);
        drop(held);
        // A launch without --queue may not take the free slot past the queue.
        assert_eq!(slots.try_acquire().unwrap().unwrap_err().queued, 2);
        assert!(slots.try_acquire_queued(&second).unwrap().is_none());
        let slot = slots.try_acquire_queued(&first).unwrap().unwrap();
        drop(first);
        assert!(slots.try_acquire_queued(&second).unwrap().is_none());
        drop(slot);
        assert!(slots.try_acquire_queued(&second).unwrap().is_some());
    }

    #[test]
    fn a_dead_waiters_ticket_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let slots = Slots::new(tmp.path(), 1);
        let live = slots.enqueue("run-b").unwrap();
        // A waiter that died leaves its file behind, unlocked.
        let dead = tmp.path().join("slots/waiting/00000000000000000000-run-a");
        std::fs::write(&dead, b"").unwrap();
        let names: Vec<_> = slots
            .waiting()
            .unwrap()
            .into_iter()
            .map(|w| w.run_id)
            .collect();
        assert_eq!(names, ["run-b"]);
        assert!(!dead.exists());
        assert!(slots.try_acquire_queued(&live).unwrap().is_some());
    }

    #[test]
    fn a_slot_handed_down_stays_held_until_every_holder_closes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let slots = Slots::new(tmp.path(), 1);
        let slot = slots.try_acquire().unwrap().unwrap();
        // What a child gets: another descriptor of the same open file.
        let fd = unsafe { libc::dup(slot.as_raw_fd()) };
        assert!(fd >= 0);
        let adopted = slots.adopt(fd).unwrap();
        assert_eq!(adopted.index(), slot.index());
        drop(slot);
        assert_eq!(slots.held().unwrap(), 1);
        assert!(slots.try_acquire().unwrap().is_err());
        drop(adopted);
        assert_eq!(slots.held().unwrap(), 0);
        // A descriptor of anything else is refused.
        let other = std::fs::File::create(tmp.path().join("x")).unwrap();
        let fd = unsafe { libc::dup(other.as_raw_fd()) };
        assert!(slots.adopt(fd).is_err());
    }

    #[test]
    fn a_half_made_ticket_is_not_in_the_queue() {
        let tmp = tempfile::tempdir().unwrap();
        let slots = Slots::new(tmp.path(), 1);
        let a = slots.enqueue("run-a").unwrap();
        std::fs::write(
            tmp.path()
                .join("slots/waiting/.new-00000000000000000009-run-z"),
            b"",
        )
        .unwrap();
        assert_eq!(slots.waiting().unwrap().len(), 1);
        assert_eq!(slots.position(&a).unwrap(), Some(0));
        let b = slots.enqueue("run-b").unwrap();
        assert_eq!(slots.position(&b).unwrap(), Some(1));
        assert!(
            !tmp.path()
                .join("slots/waiting/.new-00000000000000000009-run-z")
                .exists()
        );
    }

    #[test]
    fn a_bad_run_id_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let slots = Slots::new(tmp.path(), 1);
        assert!(slots.enqueue("../x").is_err());
        assert!(slots.enqueue("").is_err());
    }
}
