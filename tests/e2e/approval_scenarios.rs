//! `--approvals chat` through the real gateway with the clawrun plugin
//! (`openclaw-plugin/`, installed by the suite): the real claude asks to run a
//! Bash command that changes a file; the approval prompt reaches the fake
//! Telegram in the run's topic; the test answers as the human would (a
//! `/approve <id> <decision>` message in the topic, through the fake Bot API's
//! updates). Allowed: the command runs. Denied: the agent is told and the run
//! ends normally. Unanswered: denied after `--approval-timeout`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fakes::{APPROVE_ANSWER, APPROVE_COMMAND, APPROVE_FILE, TgCall};
use crate::gateway::{CHAT_ID, HUMAN_ID, TOPIC_ID, TOPIC_KEY};
use crate::gateway_scenarios::{clawrun_config, in_topic, run_in_gateway_home, topic_session_id};
use crate::harness::{Ctx, Run};

/// Longest wait for the approval prompt in the topic.
const PROMPT_LIMIT: Duration = Duration::from_secs(60);

/// The approval id in a prompt (`/approve <id> …`, in the text or a button).
fn approval_id(call: &TgCall) -> Option<String> {
    let text = format!("{} {}", call.text(), call.body["reply_markup"]);
    let at = text.find("/approve ")?;
    let id: String = text[at + 9..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
        .collect();
    (!id.is_empty()).then_some(id)
}

/// Wait for a new approval prompt in the topic (calls after `before`).
async fn wait_prompt(ctx: &Ctx, before: usize) -> (String, TgCall) {
    let deadline = Instant::now() + PROMPT_LIMIT;
    loop {
        let calls = ctx.telegram.calls().await;
        let found = calls
            .iter()
            .skip(before)
            .filter(|c| in_topic(c) && !c.from_clawrun)
            .find_map(|c| approval_id(c).map(|id| (id, c.clone())));
        if let Some(hit) = found {
            return hit;
        }
        if Instant::now() >= deadline {
            let seen: Vec<String> = calls
                .iter()
                .skip(before)
                .map(|c| format!("{} {}", c.method, c.body))
                .collect();
            panic!("no approval prompt in the topic within {PROMPT_LIMIT:?}; calls:\n{seen:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One run of the `approve` scenario in its own project; `answer` is the
/// human's decision (`None`: nobody answers).
async fn approval_run(ctx: &Arc<Ctx>, project: &str, answer: Option<&str>) -> (Run, String) {
    let config = clawrun_config(ctx, "telegram-direct");
    let before = ctx.telegram.calls().await.len();
    let runner = {
        let ctx = ctx.clone();
        let project = project.to_owned();
        tokio::spawn(async move {
            run_in_gateway_home(
                &ctx,
                &config,
                &project,
                &[
                    "-t",
                    "[e2e:approve] Create the marker file.",
                    "--session",
                    TOPIC_KEY,
                    "--heartbeat",
                    "0",
                    "--label",
                    "e2e approvals",
                    "--approvals",
                    "chat",
                    "--approval-timeout",
                    "8",
                ],
            )
            .await
        })
    };
    let (id, prompt) = wait_prompt(ctx, before).await;
    assert!(
        prompt.text().contains(APPROVE_COMMAND)
            || prompt.body.to_string().contains(APPROVE_COMMAND),
        "the prompt does not name the command: {}",
        prompt.body
    );
    if let Some(decision) = answer {
        ctx.telegram.push_message(
            CHAT_ID.parse().unwrap(),
            TOPIC_ID.parse().unwrap(),
            HUMAN_ID,
            &format!("/approve {id} {decision}"),
        );
    }
    let run = runner.await.unwrap();
    let chat: Vec<String> = ctx
        .telegram
        .calls()
        .await
        .into_iter()
        .skip(before)
        .filter(|c| in_topic(c) && c.from_clawrun)
        .map(|c| c.text().to_owned())
        .collect();
    (run, chat.join("\n"))
}

fn approvals_log(run_dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(run_dir.join("approvals.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Allow, deny, and no answer, each in its own run.
pub async fn approvals_chat(ctx: Arc<Ctx>) {
    topic_session_id(&ctx).await;

    let (run, _) = approval_run(&ctx, "approve-allow", Some("allow-once")).await;
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["outcome"], "completed", "{report}");
    assert!(
        ctx.project("approve-allow").join(APPROVE_FILE).exists(),
        "the allowed command did not run"
    );
    let run_dir = run.run_dir(&ctx.gateway_home());
    let log = approvals_log(&run_dir);
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1]["answer"]["behavior"], "allow", "{log:?}");
    let output = std::fs::read_to_string(run_dir.join("output.txt")).unwrap();
    assert!(output.contains(APPROVE_ANSWER), "{output}");

    let (run, chat) = approval_run(&ctx, "approve-deny", Some("deny")).await;
    run.expect_code(0);
    assert_eq!(run.json()["outcome"], "completed");
    assert!(!ctx.project("approve-deny").join(APPROVE_FILE).exists());
    assert!(chat.contains("🚫 Denied: Bash"), "{chat}");
    let log = approvals_log(&run.run_dir(&ctx.gateway_home()));
    assert_eq!(log[1]["answer"]["behavior"], "deny", "{log:?}");

    let (run, chat) = approval_run(&ctx, "approve-timeout", None).await;
    run.expect_code(0);
    assert_eq!(run.json()["outcome"], "completed");
    assert!(!ctx.project("approve-timeout").join(APPROVE_FILE).exists());
    assert!(chat.contains("No answer within 8s"), "{chat}");
}
