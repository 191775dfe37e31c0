//! Signals this process stops on, caught through tokio: a set installed once
//! (before the work they stop begins, so none is lost) and awaited as one.

use std::task::Poll;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::core::error::{Error, Result};

/// A set of caught signals ([`StopSignals::install`]).
#[derive(Debug)]
pub struct StopSignals {
    caught: Vec<(i32, Signal)>,
}

/// The name of a stop signal, for errors.
fn name(signo: i32) -> String {
    match signo {
        libc::SIGTERM => "SIGTERM".to_owned(),
        libc::SIGINT => "SIGINT".to_owned(),
        libc::SIGHUP => "SIGHUP".to_owned(),
        other => format!("signal {other}"),
    }
}

impl StopSignals {
    /// Catch the signals `signos` (`libc::SIGTERM`, …) from now on. Inside a
    /// tokio runtime.
    ///
    /// # Errors
    /// When a handler cannot be installed.
    pub fn install(signos: &[i32]) -> Result<Self> {
        let caught = signos
            .iter()
            .map(|&signo| {
                signal(SignalKind::from_raw(signo))
                    .map(|s| (signo, s))
                    .map_err(|e| Error::io(format!("installing {} handler", name(signo)), e))
            })
            .collect::<Result<_>>()?;
        Ok(Self { caught })
    }

    /// The next of these signals to arrive (its number).
    pub async fn recv(&mut self) -> i32 {
        std::future::poll_fn(|cx| {
            for (signo, caught) in &mut self.caught {
                if caught.poll_recv(cx).is_ready() {
                    return Poll::Ready(*signo);
                }
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn the_signal_that_came_is_the_one_named() {
        let mut signals = StopSignals::install(&[libc::SIGUSR1, libc::SIGUSR2]).unwrap();
        // SAFETY: raise only sends a signal to this process, which now catches it.
        unsafe { libc::raise(libc::SIGUSR2) };
        assert_eq!(signals.recv().await, libc::SIGUSR2);
    }
}
