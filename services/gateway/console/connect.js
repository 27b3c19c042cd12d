// A small Connect protocol client (JSON codec) over fetch: unary calls and server streams of
// costream.gateway.v1.GatewayService, as the gateway serves them on GATEWAY_HTTP_PORT.

const SERVICE = "costream.gateway.v1.GatewayService";

// Connect's codes for HTTP statuses, for an error answered without a Connect error body.
const HTTP_CODES = {
  400: "invalid_argument", 401: "unauthenticated", 403: "permission_denied", 404: "unimplemented",
  408: "deadline_exceeded", 409: "aborted", 412: "failed_precondition", 413: "resource_exhausted",
  415: "internal", 429: "unavailable", 431: "resource_exhausted", 502: "unavailable",
  503: "unavailable", 504: "unavailable",
};

export class ConnectError extends Error {
  constructor(code, message, details = []) {
    super(message || code);
    this.code = code;
    this.details = details;
    const info = decodedDetail(details, "google.rpc.ErrorInfo", decodeErrorInfo);
    this.reason = info?.reason || "";
    this.metadata = info?.metadata || {};
    this.violations = decodedDetail(details, "google.rpc.BadRequest", decodeBadRequest) || [];
  }

  // "PERMISSION_DENIED NOT_ROOM_MODERATOR: the caller ..." for a line of text.
  toString() {
    return [this.code.toUpperCase(), this.reason].filter(Boolean).join(" ") + ": " + this.message;
  }
}

export class Client {
  // token() gives the bearer token of each call (empty: none sent).
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.token = token;
  }

  headers(contentType) {
    const headers = { "Content-Type": contentType, "Connect-Protocol-Version": "1" };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }

  async call(method, request = {}, { signal, timeoutMs = 10000 } = {}) {
    const headers = this.headers("application/json");
    headers["Connect-Timeout-Ms"] = String(timeoutMs);
    const response = await send(`${this.baseUrl}/${SERVICE}/${method}`, {
      method: "POST", headers, body: JSON.stringify(request), signal,
    });
    if (response.ok) return response.json();
    throw await errorOf(response);
  }

  // Yields each message of a server stream; throws the stream's error, if it ends with one.
  async *stream(method, request = {}, { signal } = {}) {
    const response = await send(`${this.baseUrl}/${SERVICE}/${method}`, {
      method: "POST",
      headers: this.headers("application/connect+json"),
      body: envelope(0, new TextEncoder().encode(JSON.stringify(request))),
      signal,
    });
    if (!response.ok) throw await errorOf(response);
    const reader = response.body.getReader();
    let buffered = new Uint8Array(0);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered = concat(buffered, value);
      while (buffered.length >= 5) {
        const view = new DataView(buffered.buffer, buffered.byteOffset, buffered.length);
        const flags = view.getUint8(0);
        const length = view.getUint32(1);
        if (buffered.length < 5 + length) break;
        const data = JSON.parse(new TextDecoder().decode(buffered.subarray(5, 5 + length)) || "{}");
        buffered = buffered.slice(5 + length);
        if (flags & 0x02) {
          if (data.error) throw fromJson(data.error);
          return;
        }
        yield data;
      }
    }
    throw new ConnectError("unavailable", "the stream ended without its end message");
  }
}

async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ConnectError("unavailable", `cannot reach the gateway (${error.message})`);
  }
}

async function errorOf(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.startsWith("application/json")) {
    try {
      return fromJson(await response.json());
    } catch {
      // Not a Connect error body: fall through to the HTTP status.
    }
  }
  return new ConnectError(HTTP_CODES[response.status] || "unknown", `HTTP ${response.status}`);
}

function fromJson(error) {
  return new ConnectError(error.code || "unknown", error.message || "", error.details || []);
}

function envelope(flags, bytes) {
  const out = new Uint8Array(5 + bytes.length);
  new DataView(out.buffer).setUint8(0, flags);
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// Error details: {type, value (base64 of the binary message), debug (optional JSON)}.
function decodedDetail(details, type, decode) {
  const detail = details.find((d) => d.type === type || d.type?.endsWith(`/${type}`));
  if (!detail) return null;
  try {
    return decode(fields(base64Bytes(detail.value)));
  } catch {
    return detail.debug ? decode(null, detail.debug) : null;
  }
}

function decodeErrorInfo(parsed, debug) {
  if (debug) return { reason: debug.reason || "", metadata: debug.metadata || {} };
  const metadata = {};
  for (const entry of parsed.get(3) || []) {
    const kv = fields(entry);
    metadata[text(kv.get(1)?.[0])] = text(kv.get(2)?.[0]);
  }
  return { reason: text(parsed.get(1)?.[0]), metadata };
}

function decodeBadRequest(parsed, debug) {
  if (debug) return (debug.fieldViolations || []).map((v) => ({ field: v.field, description: v.description }));
  return (parsed.get(1) || []).map((bytes) => {
    const v = fields(bytes);
    return { field: text(v.get(1)?.[0]), description: text(v.get(2)?.[0]) };
  });
}

function base64Bytes(value) {
  const standard = value.replace(/-/g, "+").replace(/_/g, "/");
  const padded = standard + "=".repeat((4 - (standard.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// The length-delimited fields of a protobuf message, by field number (others skipped).
function fields(bytes) {
  const out = new Map();
  let i = 0;
  const varint = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++];
      if (b === undefined) throw new Error("truncated");
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  };
  while (i < bytes.length) {
    const key = varint();
    const wire = key % 8;
    const number = Math.floor(key / 8);
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const length = varint();
      if (i + length > bytes.length) throw new Error("truncated");
      if (!out.has(number)) out.set(number, []);
      out.get(number).push(bytes.subarray(i, i + length));
      i += length;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

function text(bytes) {
  return bytes ? new TextDecoder().decode(bytes) : "";
}
