//! The cap on agents running at once (`[limits] max_sessions`): a semaphore
//! made of lock files, and a first-come-first-served queue in front of it.
//!
//! `<state dir>/slots/` holds `slot-<i>.lock` for `i` in `0..max`. A run holds
//! one slot with an exclusive `flock(2)` from before its agent starts until the
//! agent's process group is gone. The kernel drops the lock when the holder
//! dies, however it dies (SIGKILL, OOM), so a crashed runner never keeps a slot
//! and there is nothing to reap. Launches that race each other cannot both win
//! one slot: the lock is the check.
//!
//! A queued run (`--queue`) takes a numbered ticket: `waiting/<number>-<run id>`,
//! locked by its waiter for as long as it waits. A slot goes to the live ticket
//! with the lowest number, so queued runs start in the order they were
//! launched. A ticket whose lock can be taken belongs to a waiter that died and
//! is removed. A launch without `--queue` takes a free slot only when nobody is
//! queued, so it cannot overtake the queue.
//!
//! Hand-written because no crate offers a cross-process counting semaphore
//! that survives the death of its holders; `flock` is the primitive.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::core::store::fsutil;

/// The slots of one state directory.
#[derive(Debug, Clone)]
pub struct Slots {
    dir: PathBuf,
    max: u32,
}

/// One held slot; dropping it (or the death of its process) frees it.
#[derive(Debug)]
pub struct Slot {
    _lock: Flock<File>,
    index: u32,
}

impl Slot {
    /// Which slot this is (`0..max`).
    pub fn index(&self) -> u32 {
        self.index
    }
}

/// A place in the queue; dropping it leaves the queue.
#[derive(Debug)]
pub struct Ticket {
    _lock: Flock<File>,
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
        // The ticket is created and locked under the counter's lock, so a
        // later ticket can never be seen before an earlier one.
        let counter = open_lock_file(&self.dir.join("counter"))?;
        let mut counter =
            Flock::lock(counter, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
        let number = next_number(&mut counter)?;
        let path = waiting.join(format!("{number:020}-{run_id}"));
        let file = open_lock_file(&path)?;
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| io::Error::from(e))?;
        Ok(Ticket {
            _lock: lock,
            path,
            number,
        })
    }

    /// Take a slot for `ticket` if it is first in the queue and a slot is free.
    ///
    /// # Errors
    /// An I/O error on the slots directory.
    pub fn try_acquire_queued(&self, ticket: &Ticket) -> io::Result<Option<Slot>> {
        let first = self.waiting()?.first().map(|w| w.number);
        if first != Some(ticket.number) {
            return Ok(None);
        }
        self.grab()
    }

    /// Wait in the queue until a slot is ours, looking every `poll`.
    ///
    /// # Errors
    /// An I/O error on the slots directory.
    pub async fn acquire_queued(&self, ticket: &Ticket, poll: Duration) -> io::Result<Slot> {
        loop {
            if let Some(slot) = self.try_acquire_queued(ticket)? {
                return Ok(slot);
            }
            tokio::time::sleep(poll).await;
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
            let path = self.slot_path(i);
            if path.exists() && is_locked(&path)? {
                n += 1;
            }
        }
        Ok(n)
    }

    fn slot_path(&self, i: u32) -> PathBuf {
        self.dir.join(format!("slot-{i}.lock"))
    }

    /// Lock the first free slot file.
    fn grab(&self) -> io::Result<Option<Slot>> {
        fsutil::create_private_dir(&self.dir)?;
        for index in 0..self.max {
            let file = open_lock_file(&self.slot_path(index))?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(Some(Slot { _lock: lock, index })),
                Err((_, Errno::EWOULDBLOCK)) => continue,
                Err((_, e)) => return Err(e.into()),
            }
        }
        Ok(None)
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

/// Open (creating, 0600, no symlink) a file used only for its lock.
fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Whether another process holds the lock on `path`. A ticket file found
/// unlocked belonged to a waiter that died: it is removed.
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
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        Ok(_free) => {
            if path.parent().is_some_and(|p| p.ends_with("waiting")) {
                let _ = fs::remove_file(path);
            }
            Ok(false)
        }
        Err((_, Errno::EWOULDBLOCK)) => Ok(true),
        Err((_, e)) => Err(e.into()),
    }
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
    fn a_bad_run_id_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let slots = Slots::new(tmp.path(), 1);
        assert!(slots.enqueue("../x").is_err());
        assert!(slots.enqueue("").is_err());
    }
}
