// JSON over the gateway's HTTP listener: body reading with a size cap, replies, error shape
// (`{"ok":false,"error":{"code","message"}}`, see /clawrun/v1 in README "OpenClaw integration").

const MAX_BODY = 64 * 1024;

/** An error with an HTTP status and a stable code, turned into the contract's error reply. */
export class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Reads the request body as JSON (object only), at most 64 KiB. */
export async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, "too_large", "body over 64 KiB");
    chunks.push(chunk);
  }
  let value;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
  } catch {
    throw new HttpError(400, "bad_json", "the body is not JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError(400, "bad_request", "the body must be a JSON object");
  }
  return value;
}

/** Writes one JSON reply. */
export function sendJson(res, status, body) {
  const data = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(data));
  res.end(data);
}

/** Wraps a `(body) => reply` function as a POST-only gateway route handler. */
export function jsonRoute(logger, fn) {
  return async (req, res) => {
    try {
      if (req.method !== "POST") {
        res.setHeader("allow", "POST");
        throw new HttpError(405, "method_not_allowed", "use POST");
      }
      sendJson(res, 200, await fn(await readJson(req)));
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 502;
      const code = err instanceof HttpError ? err.code : "gateway_error";
      if (!(err instanceof HttpError)) logger?.warn?.(`clawrun route failed: ${err?.message ?? err}`);
      if (!res.headersSent) sendJson(res, status, { ok: false, error: { code, message: String(err?.message ?? err) } });
    }
    return true;
  };
}

/** A required non-empty string field. */
export function str(body, key) {
  const v = body[key];
  if (typeof v !== "string" || !v.trim()) throw new HttpError(400, "bad_request", `${key} is required`);
  return v.trim();
}

/** An optional string field (null when absent or empty). */
export function optStr(body, key) {
  const v = body?.[key];
  if (v === undefined || v === null || v === "") return null;
  if (typeof v !== "string" && typeof v !== "number") throw new HttpError(400, "bad_request", `${key} must be a string`);
  return String(v);
}
