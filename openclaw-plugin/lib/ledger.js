// Task ledger: placeholder until the ledger mechanism is wired (see README "OpenClaw integration").
import { HttpError } from "./http.js";

/** The ledger service. */
export function createLedger() {
  return {
    mode: "unavailable",
    async upsert() {
      throw new HttpError(501, "not_implemented", "the task ledger is not wired yet");
    },
  };
}
