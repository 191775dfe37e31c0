// clawrun's OpenClaw plugin (id `clawrun`): HTTP routes on the gateway's listener, behind the
// gateway's HTTP auth (Authorization: Bearer <gateway token>):
//   POST /clawrun/v1/approvals/request  a clawrun permission prompt asked in the run's chat
//   POST /clawrun/v1/info               plugin id and version (for `clawrun doctor`)
// The wire contract is in README.md "OpenClaw integration". Plain ESM, no build step, no
// dependencies beyond the host's plugin SDK.

import { callGatewayFromCli } from "openclaw/plugin-sdk/gateway-runtime";
import { createApprovals } from "./lib/approvals.js";
import { jsonRoute } from "./lib/http.js";

/** The plugin's version, reported by POST /clawrun/v1/info. */
export const VERSION = "0.1.0";

// The gateway RPC as an operator client of this same gateway (loopback WebSocket, the
// gateway's own token from its config): plugin approvals need the operator.approvals scope,
// which a plugin's in-process request scope does not carry.
async function gatewayCall(method, params, timeoutMs) {
  return await callGatewayFromCli(
    method,
    { timeout: String(timeoutMs), json: true },
    params,
    { scopes: ["operator.approvals"], progress: false },
  );
}

export default {
  id: "clawrun",
  name: "clawrun",
  description: "clawrun's tool approvals asked in the run's chat",
  register(api) {
    const logger = api.logger;
    const approvals = createApprovals({ call: gatewayCall });
    const route = (path, fn) =>
      api.registerHttpRoute({ path, auth: "gateway", match: "exact", handler: jsonRoute(logger, fn) });
    route("/clawrun/v1/approvals/request", (body) => approvals.handle(body));
    route("/clawrun/v1/info", async () => ({ ok: true, plugin: "clawrun", version: VERSION }));
  },
};
