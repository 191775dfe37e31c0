// POST /clawrun/v1/approvals/request: one clawrun permission prompt → one OpenClaw plugin
// approval (plugin.approval.request) delivered to the run's chat; the call blocks on one
// gateway connection until the decision or the timeout (a pending approval dies with the
// connection that asked, so request and wait cannot be split across connections).
// Idempotent by requestId: the same id twice shares one approval and one prompt.
// `call(method, params, timeoutMs)` is the gateway RPC.

import { HttpError, optStr, str } from "./http.js";

const DECISIONS = ["allow-once", "allow-always", "deny"];
const SEVERITIES = ["info", "warning", "critical"];
const MAX_TIMEOUT_MS = 600_000;
const DEFAULT_TIMEOUT_MS = 120_000;
const KEEP_MS = 15 * 60_000;

function clip(text, max) {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Validates a request body into the plugin.approval.request parameters. */
export function approvalParams(body) {
  const title = clip(str(body, "title"), 80);
  const description = clip(optStr(body, "description") ?? "", 512);
  const severity = optStr(body, "severity") ?? "warning";
  if (!SEVERITIES.includes(severity)) throw new HttpError(400, "bad_request", `severity must be one of ${SEVERITIES.join(", ")}`);
  const allowed = body.allowedDecisions ?? DECISIONS;
  if (!Array.isArray(allowed) || allowed.length === 0 || allowed.some((d) => !DECISIONS.includes(d))) {
    throw new HttpError(400, "bad_request", `allowedDecisions must be a subset of ${DECISIONS.join(", ")}`);
  }
  const raw = body.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(raw) || raw <= 0) throw new HttpError(400, "bad_request", "timeoutMs must be a positive integer");
  const route = body.route && typeof body.route === "object" ? body.route : {};
  const params = {
    pluginId: "clawrun",
    title,
    description,
    severity,
    allowedDecisions: allowed,
    timeoutMs: Math.min(raw, MAX_TIMEOUT_MS),
  };
  const sessionKey = optStr(body, "sessionKey");
  if (sessionKey) params.sessionKey = sessionKey;
  const origin = {
    turnSourceChannel: optStr(route, "channel"),
    turnSourceTo: optStr(route, "to"),
    turnSourceThreadId: optStr(route, "threadId"),
    turnSourceAccountId: optStr(route, "accountId"),
  };
  for (const [k, v] of Object.entries(origin)) if (v) params[k] = v;
  return params;
}

/** The approvals service: `handle(body)` answers the route. */
export function createApprovals({ call, now = Date.now }) {
  const byRequest = new Map();

  function prune() {
    const t = now();
    for (const [k, e] of byRequest) if (e.until < t) byRequest.delete(k);
  }

  async function ask(params) {
    const answer = await call("plugin.approval.request", params, params.timeoutMs + 10_000);
    const approvalId = answer?.id;
    if (typeof approvalId !== "string") throw new Error("the gateway returned no approval id");
    const decision = answer?.decision;
    return { ok: true, approvalId, decision: DECISIONS.includes(decision) ? decision : null };
  }

  return {
    async handle(body) {
      const runId = str(body, "runId");
      const requestId = optStr(body, "requestId") ?? `${runId}:${now()}`;
      const params = approvalParams(body);
      prune();
      let entry = byRequest.get(requestId);
      if (!entry) {
        entry = { reply: ask(params), until: now() + params.timeoutMs + KEEP_MS };
        byRequest.set(requestId, entry);
        entry.reply.catch(() => byRequest.delete(requestId));
      }
      return await entry.reply;
    },
  };
}
