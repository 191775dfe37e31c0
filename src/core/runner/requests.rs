//! What the runner does with a request on its control socket
//! ([`super::control`]): a progress note, `fg`/`bg`, an answer
//! (`clawrun respond`, in `turns`).

use tokio::time::Instant;

use crate::backends::Backend;

use super::control;
use super::supervisor::Supervisor;

impl Supervisor<'_> {
    /// A request on the control socket.
    pub(crate) fn on_request(&mut self, req: control::Request) -> control::Reply {
        match req {
            // `clawrun notify`: a progress note from the agent, rate limited.
            control::Request::Notify { text } => match self.limiter.accept(&text) {
                Ok(note) => {
                    self.notifier.progress(note);
                    control::Reply::ok()
                }
                Err(reply) => reply,
            },
            control::Request::Fg => {
                let t = &self.transcript;
                match self
                    .fg
                    .enable(&t.stream_path, t.pos, self.job.backend.parser())
                {
                    Ok(catchup) => {
                        if let Some(c) = catchup {
                            self.notifier.stream(c);
                        }
                        control::Reply::ok()
                    }
                    Err(e) => control::Reply::err(e.to_string()),
                }
            }
            control::Request::Bg => {
                if let Some(text) = self.fg.disable(Instant::now(), self.transcript.pos) {
                    self.notifier.stream(text);
                }
                control::Reply::ok()
            }
            control::Request::Respond {
                text,
                interrupt,
                user,
            } => self.on_respond(&text, interrupt, user),
        }
    }
}
