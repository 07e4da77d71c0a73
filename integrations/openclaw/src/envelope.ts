// The signed mail envelope a relay writes in front of an email it hands to OpenClaw's
// webhook, and the plangate trigger built from a run's prompt. Format and reasons:
// src/plangate/fronts/openclaw/envelope.py in the plangate repository.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const ENVELOPE_TAG = "plangate-email/1";
const END_MARKER = "\n<<<END_EXTERNAL_UNTRUSTED_CONTENT";
const MAX_PAYLOAD = 100_000;

export type Verdict = "pass" | "fail" | "none";

export interface Evidence {
  dmarc?: Verdict;
  spf?: Verdict;
  dkim?: Verdict;
  signed?: boolean;
  paired?: boolean;
}

export interface Segment {
  kind: "own" | "quoted" | "forwarded" | "attachment" | "embedded";
  author: string;
  text: string;
}

const KINDS = new Set(["own", "quoted", "forwarded", "attachment", "embedded"]);

/** A plangate trigger (docs/formats.md, "Trigger"). */
export interface Trigger {
  id?: string;
  channel: "email" | "chat" | "webhook" | "cron" | "api";
  principal: string;
  evidence: Evidence;
  payload: string;
  meta: Record<string, string>;
  segments?: Segment[];
}

/** The envelope's [kind, author, length] list cut out of the body (lengths in code
 * points); undefined when it does not describe the body exactly. */
function cutSegments(spec: unknown, body: string): Segment[] | undefined {
  if (!Array.isArray(spec)) return undefined;
  const points = Array.from(body);
  const out: Segment[] = [];
  let at = 0;
  for (const item of spec) {
    if (!Array.isArray(item) || item.length !== 3) return undefined;
    const [kind, author, length] = item as [unknown, unknown, unknown];
    if (typeof kind !== "string" || !KINDS.has(kind) || typeof author !== "string"
      || typeof length !== "number" || !Number.isInteger(length) || length <= 0) return undefined;
    if (kind === "own" && author) return undefined;
    out.push({ kind: kind as Segment["kind"], author: author.slice(0, 1000), text: points.slice(at, at + length).join("") });
    at += length;
  }
  return at === points.length ? out : undefined;
}

export interface RunOrigin {
  trigger?: string;
  channel?: string;
  senderId?: string;
  messageProvider?: string;
}

function verdict(value: unknown): Verdict {
  return value === "pass" ? "pass" : value === "fail" ? "fail" : "none";
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The envelope in `text` (the first line carrying the tag), checked; undefined when there
 * is none or it does not check (then the message is nobody's in particular). */
export function readEnvelope(text: string, key: string, maxAgeSeconds: number, now = Date.now() / 1000):
  { trigger: Trigger } | { problem: string } | undefined {
  const normal = text.replace(/\r\n/g, "\n");
  const at = normal.startsWith(ENVELOPE_TAG + " ") ? 0 : normal.indexOf("\n" + ENVELOPE_TAG + " ");
  if (at < 0) return undefined;
  const start = at === 0 ? 0 : at + 1;
  const lineEnd = normal.indexOf("\n", start);
  if (lineEnd < 0 || normal.slice(lineEnd, lineEnd + 2) !== "\n\n") return { problem: "envelope without a body" };
  const line = normal.slice(start, lineEnd);
  const first = line.indexOf(" ");
  const second = line.indexOf(" ", first + 1);
  if (second < 0) return { problem: "malformed envelope line" };
  const mac = line.slice(first + 1, second);
  const json = line.slice(second + 1);
  if (key.length < 16) return { problem: "no envelope key configured (envelopeKey, 16+ characters)" };
  const want = createHmac("sha256", key).update(json, "utf8").digest();
  const got = Buffer.from(mac, "hex");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { problem: "envelope signature does not check" };
  let rest = normal.slice(lineEnd + 2);
  const end = rest.lastIndexOf(END_MARKER);
  if (end >= 0) rest = rest.slice(0, end);
  const body = rest.replace(/\s+$/, "");
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return { problem: "envelope header is not JSON" };
  }
  if (typeof header !== "object" || header === null) return { problem: "envelope header is not an object" };
  if (header.body_sha256 !== sha256(body)) return { problem: "the body is not the one the relay signed" };
  const ts = header.ts;
  if (typeof ts !== "number" || Math.abs(now - ts) > maxAgeSeconds) return { problem: "envelope too old (or from the future)" };
  const from = typeof header.from === "string" ? header.from : "";
  if (!from) return { problem: "envelope without a sender" };
  const ev = (typeof header.evidence === "object" && header.evidence !== null ? header.evidence : {}) as Record<string, unknown>;
  let segments: Segment[] | undefined;
  if (header.segments !== undefined) {
    segments = cutSegments(header.segments, body);
    if (!segments) return { problem: "envelope segments do not describe the body" };
    if (body.length > MAX_PAYLOAD) return { problem: "a body with segments over the payload limit" };
  }
  const meta: Record<string, string> = {};
  if (typeof header.subject === "string") meta.subject = header.subject.slice(0, 1000);
  if (typeof header.message_id === "string") meta.message_id = header.message_id.slice(0, 1000);
  return {
    trigger: {
      channel: "email",
      principal: from.slice(0, 1000),
      evidence: { dmarc: verdict(ev.dmarc), spf: verdict(ev.spf), dkim: verdict(ev.dkim) },
      payload: body.slice(0, MAX_PAYLOAD),
      meta,
      ...(segments && segments.length ? { segments } : {}),
    },
  };
}

/** The trigger of a run, from its prompt and what OpenClaw says about its origin. Only a
 * signed envelope names an authenticated sender; everything else is unauthenticated. */
export function triggerFromPrompt(prompt: string, origin: RunOrigin, key: string, maxAgeSeconds: number,
  now?: number): Trigger {
  const read = readEnvelope(prompt, key, maxAgeSeconds, now);
  if (read && "trigger" in read) return read.trigger;
  const meta: Record<string, string> = {};
  if (read && "problem" in read) meta.envelope_problem = read.problem;
  if (origin.trigger) meta.openclaw_trigger = origin.trigger.slice(0, 100);
  const payload = prompt.slice(0, MAX_PAYLOAD);
  if (origin.channel && origin.senderId) {
    // A channel message: the sender id is what the channel claims; OpenClaw does not tell
    // a plugin at prompt time whether it is paired, so it earns no class above the lowest.
    return { channel: "chat", principal: `${origin.channel}:${origin.senderId}`.slice(0, 1000),
      evidence: { paired: false }, payload, meta };
  }
  // Webhook, cron and CLI runs without a valid envelope: nobody in particular.
  return { channel: "webhook", principal: "unknown@openclaw.invalid", evidence: { signed: false }, payload, meta };
}
