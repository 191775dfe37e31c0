// Plugin logic without a gateway: validation, mapping to plugin.approval.request, idempotency.
import assert from "node:assert/strict";
import { test } from "node:test";
import { approvalParams, createApprovals } from "../lib/approvals.js";

const body = {
  runId: "r1",
  requestId: "r1:toolu_1",
  title: "Bash: rm -rf build",
  description: "rm -rf build",
  severity: "critical",
  allowedDecisions: ["allow-once", "deny"],
  timeoutMs: 5000,
  sessionKey: "agent:main:telegram:group:-100123:topic:42",
  route: { channel: "telegram", to: "-100123", threadId: "42", accountId: null },
};

test("maps the request to plugin.approval.request parameters", () => {
  assert.deepEqual(approvalParams(body), {
    pluginId: "clawrun",
    title: "Bash: rm -rf build",
    description: "rm -rf build",
    severity: "critical",
    allowedDecisions: ["allow-once", "deny"],
    timeoutMs: 5000,
    sessionKey: "agent:main:telegram:group:-100123:topic:42",
    turnSourceChannel: "telegram",
    turnSourceTo: "-100123",
    turnSourceThreadId: "42",
  });
});

test("clips title and description to the gateway's limits and caps the timeout", () => {
  const p = approvalParams({ ...body, title: "t".repeat(200), description: "d".repeat(900), timeoutMs: 9e9 });
  assert.equal(p.title.length, 80);
  assert.equal(p.description.length, 512);
  assert.equal(p.timeoutMs, 600_000);
});

test("rejects bad input with 400", () => {
  for (const bad of [{ title: "" }, { severity: "high" }, { allowedDecisions: ["yes"] }, { timeoutMs: -1 }]) {
    assert.throws(() => approvalParams({ ...body, ...bad }), (e) => e.status === 400);
  }
});

test("the same requestId twice asks once and both get the decision", async () => {
  const calls = [];
  let answer;
  const call = (method, params) => {
    calls.push({ method, params });
    return new Promise((resolve) => (answer = resolve));
  };
  const approvals = createApprovals({ call });
  const a = approvals.handle(body);
  const b = approvals.handle(body);
  await new Promise((r) => setImmediate(r));
  answer({ id: "plugin:1", decision: "allow-once" });
  assert.deepEqual(await a, { ok: true, approvalId: "plugin:1", decision: "allow-once" });
  assert.deepEqual(await b, { ok: true, approvalId: "plugin:1", decision: "allow-once" });
  assert.equal(calls.length, 1);
  assert.equal(calls[0].method, "plugin.approval.request");
});

test("no answer before the timeout is decision null", async () => {
  const approvals = createApprovals({ call: async () => ({ id: "plugin:2", decision: null }) });
  assert.equal((await approvals.handle({ ...body, requestId: "r1:2" })).decision, null);
});

test("a failed gateway call is not remembered: the retry asks again", async () => {
  let n = 0;
  const approvals = createApprovals({
    call: async () => {
      n += 1;
      if (n === 1) throw new Error("gateway down");
      return { id: "plugin:3", decision: "deny" };
    },
  });
  await assert.rejects(approvals.handle({ ...body, requestId: "r1:3" }));
  assert.equal((await approvals.handle({ ...body, requestId: "r1:3" })).decision, "deny");
});
