//! A channel defined outside the crate: every notification of a run is POSTed
//! as JSON to a webhook.
//!
//! ```sh
//! cargo run --example webhook_channel -- URL PROJECT_DIR "TASK" [BACKEND]
//! ```
//!
//! (`URL` may also come from `$WEBHOOK_URL`, then the arguments start at
//! `PROJECT_DIR`.) Each message arrives as
//!
//! ```json
//! {"idempotency_key": "…:launch:1", "kind": "launch", "text": "🚀 …", "silent": true}
//! ```
//!
//! with the same key in an `Idempotency-Key` header: a retried message keeps
//! its key, so the receiver can drop a duplicate. The channel only delivers;
//! the run's outbox retries what fails for a reason that may pass (HTTP 429,
//! 5xx, network errors), honours `Retry-After`, and gives up on other 4xx.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use clawrun::channels::custom::{CustomChannel, DynChannel, async_trait};
use clawrun::channels::{ChannelError, Delivery, Outgoing, Wake, WakeAck};
use clawrun::{Paths, ProcessEnv, RunOptions, RunReport, TaskSource};

/// Wait this long after a 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// POSTs each message to one URL.
struct Webhook {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl Webhook {
    fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            url: reqwest::Url::parse(url)?,
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(20))
                .build()?,
        })
    }

    /// POST `body`; map the answer to what the outbox understands.
    async fn post(&self, key: &str, body: serde_json::Value) -> Result<(), ChannelError> {
        let resp = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            // The URL may carry a secret (a token in the path): leave it out.
            .map_err(|e| ChannelError::Transient(e.without_url().to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs);
            return Err(ChannelError::RetryAfter(after));
        }
        if status.is_server_error() {
            return Err(ChannelError::Transient(format!(
                "webhook answered {status}"
            )));
        }
        Err(ChannelError::Permanent(format!(
            "webhook answered {status}"
        )))
    }
}

#[async_trait]
impl DynChannel for Webhook {
    fn id(&self) -> &str {
        "webhook"
    }

    async fn send(&self, msg: &Outgoing) -> Result<Delivery, ChannelError> {
        let body = json!({
            "idempotency_key": msg.idempotency_key,
            "kind": msg.kind,
            "text": msg.body.plain,
            "silent": msg.silent,
        });
        self.post(&msg.idempotency_key, body).await?;
        Ok(Delivery::default())
    }

    async fn wake(&self, wake: &Wake) -> Result<WakeAck, ChannelError> {
        let body = json!({
            "idempotency_key": wake.idempotency_key,
            "kind": "wake",
            "session_key": wake.session_key,
            "text": wake.text,
        });
        self.post(&wake.idempotency_key, body).await?;
        Ok(WakeAck::default())
    }
}

fn run(url: &str, project: &str, task: &str, backend: &str) -> anyhow::Result<RunReport> {
    let webhook = Webhook::new(url)?;
    // The same options, and defaults, as `clawrun run --backend BACKEND -p PROJECT
    // -t TASK --delivery-wait 30`.
    let mut opts = RunOptions::new(backend, TaskSource::Inline(task.to_owned()));
    opts.request.project = Some(project.into());
    opts.notify.delivery_wait_secs = 30;
    let paths = Paths::resolve(&ProcessEnv, /*state_dir*/ None, /*config*/ None);
    let mut prepared = clawrun::prepare(&opts, &paths, &mut std::io::empty())?;
    let dir = clawrun::create(&mut prepared)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let channel = CustomChannel::new(webhook);
    Ok(rt.block_on(clawrun::execute(&dir, &paths, channel.into()))?)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(url) = std::env::var("WEBHOOK_URL") {
        args.insert(0, url);
    }
    let [url, project, task, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: webhook_channel URL PROJECT_DIR TASK [BACKEND]  (or URL in $WEBHOOK_URL)"
        );
        return ExitCode::from(2);
    };
    let backend = rest.first().map_or("claude", String::as_str);
    match run(url, project, task, backend) {
        Ok(report) => {
            eprintln!(
                "{}: {} (output in {})",
                report.run_id,
                report.outcome.as_str(),
                report.output_file.display()
            );
            ExitCode::from(report.exit_code)
        }
        Err(e) => {
            eprintln!("❌ {e:#}");
            ExitCode::from(1)
        }
    }
}
