// The plangate gate inside OpenClaw: the trigger of each run, the plan the agent submits,
// and every tool call checked against the grant by `plangate serve`. Fail closed: any
// error, timeout or missing piece blocks the call.
import { describe, PlangateService, ServiceError } from "./service.ts";
import { triggerFromPrompt, type ImapSenderAuth, type RunOrigin, type Trigger } from "./envelope.ts";

export const SUBMIT_PLAN = "submit_plan";
const MAX_RUNS = 1000;
const MAX_RESULT_CHARS = 100_000;

export interface GateConfig {
  serviceUrl: string;
  token: string;
  envelopeKey: string;
  timeoutMs: number;
  maxEnvelopeAgeSeconds: number;
  /** Tools that only describe other tools (no data, no effect): not checked. */
  passThroughTools: string[];
  approvalsUrl?: string;
  /** The `senderAuth.min` of OpenClaw's `imap` accounts (docs/openclaw.md). */
  imapSenderAuth: ImapSenderAuth;
}

export function readConfig(raw: unknown): GateConfig {
  const c = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const str = (k: string): string => (typeof c[k] === "string" ? (c[k] as string) : "");
  const num = (k: string, d: number): number => (typeof c[k] === "number" && (c[k] as number) > 0 ? (c[k] as number) : d);
  const pass = Array.isArray(c.passThroughTools) ? c.passThroughTools.filter((x): x is string => typeof x === "string")
    : ["tool_search", "tool_describe"];
  return {
    serviceUrl: str("serviceUrl"),
    token: str("token") || process.env[str("tokenEnv") || "PLANGATE_AGENT_TOKEN"] || "",
    envelopeKey: str("envelopeKey") || process.env[str("envelopeKeyEnv") || "PLANGATE_ENVELOPE_KEY"] || "",
    timeoutMs: num("timeoutMs", 5000),
    maxEnvelopeAgeSeconds: num("maxEnvelopeAgeSeconds", 600),
    passThroughTools: pass.filter((t) => t !== SUBMIT_PLAN),
    approvalsUrl: str("approvalsUrl") || undefined,
    imapSenderAuth: c.imapSenderAuth === "verified" || c.imapSenderAuth === "asserted" ? c.imapSenderAuth : "unverified",
  };
}

export interface ToolEvent {
  toolName: string;
  params: Record<string, unknown>;
  runId?: string;
  toolCallId?: string;
}

export interface ToolCtx {
  runId?: string;
  sessionKey?: string;
}

export interface AfterEvent extends ToolEvent {
  result?: unknown;
  error?: string;
}

export type Decision = undefined | { block: true; blockReason: string } | { params: Record<string, unknown> };

interface Pending {
  call: number;
  /** Allowed through the tool_call wrapper; `inner`: its inner firing was seen. */
  wrapped: boolean;
  inner: boolean;
  step: string;
  tool: string;
  key: string;
  reported: boolean;
}

interface Run {
  trigger: Trigger;
  /** The OpenClaw session (one model context): plangate reviews each plan with all that
   * session's planner was shown before. */
  session: string;
  grant?: string;
  approval?: string;
  steps: { id: string; tool: string }[];
  next: number;
  pending?: Pending;
  reporting?: Promise<void>;
  broken?: string;
  lastPlanKey?: string;
  labels: Record<string, unknown>[];
  /** Calls of an approved plan allowed in this run. */
  calls: number;
}

/** A JSON text with keys sorted: two argument objects are the same call iff equal. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return "[" + value.map(stableJson).join(",") + "]";
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return "{" + Object.keys(obj).sort().map((k) => JSON.stringify(k) + ":" + stableJson(obj[k])).join(",") + "}";
  }
  return JSON.stringify(value ?? null);
}

function block(reason: string): Decision {
  return { block: true, blockReason: `plangate: ${reason}`.slice(0, 2000) };
}

/** The tool the agent really calls: `tool_call` is OpenClaw's wrapper for deferred tools. */
export function unwrap(event: ToolEvent): { tool: string; params: Record<string, unknown> } {
  if (event.toolName === "tool_call") {
    // `id` is a tool name or a search result id (`openclaw:<source>:<name>`). Either way the
    // host fires the hook again for the tool inside, by its real name, and that firing must
    // match this one exactly (see `decide`), so a wrong reading here only ever blocks.
    const raw = typeof event.params.id === "string" ? event.params.id : "";
    const id = /^openclaw:[A-Za-z0-9_.-]+:([A-Za-z0-9_.-]+)$/.exec(raw)?.[1] ?? raw;
    const args = event.params.args;
    return { tool: id, params: (args && typeof args === "object" && !Array.isArray(args) ? args : {}) as Record<string, unknown> };
  }
  return { tool: event.toolName, params: event.params ?? {} };
}

function topSteps(plan: unknown): { id: string; tool: string }[] {
  const steps = (plan as { steps?: unknown })?.steps;
  if (!Array.isArray(steps)) return [];
  return steps.filter((s) => s && typeof s === "object").map((s) => ({
    id: String((s as Record<string, unknown>).id ?? ""), tool: String((s as Record<string, unknown>).tool ?? ""),
  }));
}

export class Gate {
  readonly runs = new Map<string, Run>();
  /** submit_plan answers by plan text: the tool's execute reads what the hook submitted. */
  readonly answers = new Map<string, string>();
  /** MACs of the envelopes runs were started with, and when (firstUse). */
  private readonly usedEnvelopes = new Map<string, number>();
  readonly service: PlangateService;
  readonly config: GateConfig;
  private readonly log?: (msg: string) => void;

  constructor(config: GateConfig, fetchImpl?: typeof fetch, log?: (msg: string) => void) {
    this.config = config;
    this.log = log;
    this.service = new PlangateService({ url: config.serviceUrl, token: config.token, timeoutMs: config.timeoutMs, fetch: fetchImpl });
  }

  /** before_prompt_build: record the run's trigger (correlated by run id). */
  recordTrigger(prompt: string, ctx: ToolCtx & RunOrigin): Trigger | undefined {
    const key = ctx.runId;
    if (!key) return undefined;
    // A run's trigger is the one its first prompt build saw: later builds of the same run
    // (retries, compaction) never replace it, whatever their prompt holds.
    const existing = this.runs.get(key);
    if (existing) return existing.trigger;
    const trigger = triggerFromPrompt(prompt ?? "", ctx, this.config.envelopeKey, this.config.maxEnvelopeAgeSeconds,
      undefined, this.config.imapSenderAuth, (mac) => this.firstUse(mac));
    // One message, one trigger: every plan for a trigger shares its budget (plangate's
    // ledger), so a relayed mail is named by its own id, which its envelope signs, not by
    // the run: a re-delivered envelope (after a restart forgot the ones seen) or a second
    // run of the same mail spends the same budget. Anything else is its own run's message.
    const messageId = trigger.channel === "email" ? trigger.meta?.message_id : undefined;
    trigger.id = (messageId ? `mail:${messageId}` : key).slice(0, 200);
    if (this.runs.size >= MAX_RUNS) {
      const oldest = this.runs.keys().next().value;
      if (oldest !== undefined) this.runs.delete(oldest);
    }
    const session = (ctx.sessionKey ?? "").replace(/[^A-Za-z0-9_.:@/-]/g, "_").slice(0, 128);
    this.runs.set(key, { trigger, session, steps: [], next: 0, labels: [], calls: 0 });
    this.log?.(`plangate: run ${key}: trigger ${trigger.channel} ${trigger.principal} (session ${ctx.sessionKey ?? "-"}`
      + `${ctx.channel ? `, channel ${ctx.channel}` : ""}${trigger.meta.envelope_problem ? `; ${trigger.meta.envelope_problem}` : ""})`);
    return trigger;
  }

  /** An envelope names its sender for one run only: a copy of it (a sub-agent's task, a
   * scheduled job, a chat message, a mail quoting it) within its age limit is a replay.
   * Remembered for the age limit (entries older than that fail the age check anyway). */
  private firstUse(mac: string): boolean {
    const now = Date.now();
    for (const [seen, at] of this.usedEnvelopes) {
      if (now - at <= this.config.maxEnvelopeAgeSeconds * 2000) break;
      this.usedEnvelopes.delete(seen);
    }
    if (this.usedEnvelopes.has(mac)) return false;
    this.usedEnvelopes.set(mac, now);
    return true;
  }

  forget(runId: string | undefined): void {
    if (runId) this.runs.delete(runId);
  }

  /** before_tool_call: may this call run? Never throws. */
  async beforeToolCall(event: ToolEvent, ctx: ToolCtx): Promise<Decision> {
    try {
      return await this.decide(event, ctx);
    } catch (err) {
      return block(err instanceof ServiceError ? err.message : `internal error (${describe(err)}); blocked`);
    }
  }

  private async decide(event: ToolEvent, ctx: ToolCtx): Promise<Decision> {
    if (!this.config.serviceUrl || !this.config.token) return block("the plugin has no serviceUrl or token configured; every call is blocked");
    const { tool, params } = unwrap(event);
    if (this.config.passThroughTools.includes(tool)) return undefined;
    const runId = ctx.runId ?? event.runId;
    const run = runId ? this.runs.get(runId) : undefined;
    if (!run) return block(`no trigger was recorded for this run (${runId ?? "no run id"}); nothing runs without one`);
    if (tool === SUBMIT_PLAN) return this.submit(run, runId as string, params, event.toolCallId);
    if (run.reporting) await run.reporting;
    if (run.broken) return block(run.broken);
    const key = stableJson(params);
    const pending = run.pending;
    if (pending && !pending.reported) {
      // OpenClaw fires the hook for the tool_call wrapper and again for the tool inside it:
      // that one inner firing is the same call. Anything else while a call's result is out
      // (the same call again in one batch: OpenClaw checks a batch, then runs it in
      // parallel) would run on a check made for another call.
      if (pending.wrapped && !pending.inner && event.toolName !== "tool_call" && pending.tool === tool && pending.key === key) {
        pending.inner = true;
        return { params: event.params };
      }
      return block(`call ${pending.call} (${pending.tool}) was allowed but its result never arrived; nothing else runs`);
    }
    if (!run.grant) {
      const granted = await this.grantAfterApproval(run);
      if (!granted) return block(run.approval ? this.waiting(run) : "no approved plan: call submit_plan with the plan first");
    }
    return this.check(run, tool, params, key, event);
  }

  private waiting(run: Run): string {
    const where = this.config.approvalsUrl ? ` at ${this.config.approvalsUrl}` : "";
    return `the plan waits for the owner's approval ${run.approval}${where}; nothing runs until it is approved`;
  }

  private async grantAfterApproval(run: Run): Promise<boolean> {
    if (!run.approval) return false;
    const status = await this.service.request("GET", `/v1/approvals/${encodeURIComponent(run.approval)}/status`);
    if (status.status !== "approved") return false;
    const granted = await this.service.request("POST", `/v1/approvals/${encodeURIComponent(run.approval)}/grant`);
    if (typeof granted.grant !== "string") return false;
    run.grant = granted.grant;
    return true;
  }

  private async check(run: Run, tool: string, params: Record<string, unknown>, key: string, event: ToolEvent): Promise<Decision> {
    let index = run.steps.findIndex((s, i) => i >= run.next && s.tool === tool);
    let step = index >= 0 ? run.steps[index].id : run.steps[run.next]?.id ?? "";
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const answer = await this.service.request("POST", `/v1/grants/${encodeURIComponent(run.grant as string)}/check`,
          { step, tool, args: params });
        if (answer.allowed !== true || typeof answer.call !== "number") return block(`step ${step} was not allowed`);
        run.pending = { call: answer.call, step, tool, key, reported: false, wrapped: event.toolName === "tool_call", inner: false };
        if (index >= 0) run.next = index + 1;
        run.calls += 1;
        // Returning the checked parameters makes them the ones that run (a lower-priority
        // handler, run last, wins over earlier rewrites).
        return { params: event.params };
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        const expected = err.body.expected_step;
        if (attempt === 0 && err.status === 409 && typeof expected === "string" && err.body.expected_tool === tool) {
          step = expected;
          index = run.steps.findIndex((s) => s.id === expected);
          continue;
        }
        const rules = Array.isArray(err.body.rules) && err.body.rules.length ? ` [${err.body.rules.join(", ")}]` : "";
        return block(`${err.message}${rules}`);
      }
    }
    return block("no step of the plan matches this call");
  }

  private remember(keys: (string | undefined)[], text: string): void {
    for (const key of keys) {
      if (key === undefined) continue;
      this.answers.set(key, text);
      if (this.answers.size > 2 * MAX_RUNS) this.answers.delete(this.answers.keys().next().value as string);
    }
  }

  private async submit(run: Run, runId: string, params: Record<string, unknown>, toolCallId?: string): Promise<Decision> {
    const plan = params.plan;
    const planKey = stableJson(plan ?? null);
    const callKey = toolCallId ? `call:${toolCallId}` : undefined;
    if (run.lastPlanKey === planKey && this.answers.has(planKey)) { // the wrapper's second firing
      this.remember([callKey], this.answers.get(planKey) as string);
      return undefined;
    }
    if (run.pending && !run.pending.reported) return block("a call is still running; submit the plan before calling tools");
    // One executed plan per run: a second plan would start a fresh budget (calls, egress)
    // on the same request. A refused or waiting plan may be replaced; a new request may
    // plan again.
    if (run.calls > 0) return block("this run already ran calls of an approved plan; a new plan needs a new request");
    let answer: Record<string, unknown>;
    try {
      answer = await this.service.request("POST", "/v1/plans", { trigger: run.trigger, plan: plan ?? {}, run_id: runId.slice(0, 64).replace(/[^A-Za-z0-9_.:-]/g, "_"),
        ...(run.session ? { session: run.session } : {}) });
    } catch (err) {
      if (err instanceof ServiceError && err.status >= 400 && err.status < 500) {
        this.remember([planKey, callKey], `plangate refused the plan: ${err.message}`);
        run.lastPlanKey = planKey;
        return undefined;
      }
      throw err;
    }
    const verdict = String(answer.verdict ?? "deny");
    run.grant = verdict === "approve" && typeof answer.grant === "string" ? answer.grant : undefined;
    run.approval = verdict === "escalate" && typeof answer.approval === "string" ? answer.approval : undefined;
    run.steps = topSteps(plan);
    run.next = 0;
    run.pending = undefined;
    run.lastPlanKey = planKey;
    const rules = Array.isArray(answer.rules) ? (answer.rules as unknown[]).join(", ") : "";
    const text = verdict === "approve"
      ? `plangate approved the plan: run its steps in order, each with exactly the planned arguments. ${answer.summary ?? ""}`
      : verdict === "escalate"
        ? `plangate asks the owner first (approval ${run.approval}): ${answer.summary ?? ""}. Rules: ${rules}. Stop here; the owner decides.`
        : `plangate denied the plan (${rules}). Do not call other tools for this request; reply that it cannot be done.`;
    this.remember([planKey, callKey], text);
    this.log?.(`plangate: run ${runId}: plan ${verdict} (${rules})`);
    return undefined;
  }

  /** submit_plan's own execute: the answer the hook got for this call (by its id; by the
   * plan's text for a call through the tool_call wrapper). Informational only: what may
   * run is decided by the run's grant, never by this text. */
  planAnswer(params: Record<string, unknown>, toolCallId?: string): string {
    return (toolCallId ? this.answers.get(`call:${toolCallId}`) : undefined)
      ?? this.answers.get(stableJson(params.plan ?? null)) ?? "plangate: the plan was not submitted (the call was blocked)";
  }

  /** after_tool_call: report the result of the allowed call; its label comes back. */
  afterToolCall(event: AfterEvent, ctx: ToolCtx): Promise<void> {
    const runId = ctx.runId ?? event.runId;
    const run = runId ? this.runs.get(runId) : undefined;
    const { tool, params } = unwrap(event);
    const pending = run?.pending;
    if (!run || !pending || pending.reported || pending.tool !== tool || pending.key !== stableJson(params)) {
      return Promise.resolve();
    }
    pending.reported = true;
    const report = this.service.request("POST", `/v1/grants/${encodeURIComponent(run.grant as string)}/results`, {
      call: pending.call, ok: !event.error, value: event.error ? null : resultText(event.result),
      error: event.error ? String(event.error).slice(0, 2000) : null,
    }).then((answer) => {
      if (answer.label && typeof answer.label === "object") run.labels.push(answer.label as Record<string, unknown>);
      if (answer.run_status && answer.run_status !== "running") run.grant = undefined;
    }).catch((err: unknown) => {
      run.broken = `the result of call ${pending.call} could not be reported (${describe(err)}); nothing else runs`;
    });
    run.reporting = report;
    return report;
  }
}

/** A tool result as plangate stores it: its text content (capped). */
export function resultText(result: unknown): unknown {
  const content = (result as { content?: unknown })?.content;
  if (Array.isArray(content)) {
    const text = content.map((c) => (c && typeof c === "object" && (c as { type?: unknown }).type === "text"
      ? String((c as { text?: unknown }).text ?? "") : "")).join("");
    return text.slice(0, MAX_RESULT_CHARS);
  }
  if (typeof result === "string") return result.slice(0, MAX_RESULT_CHARS);
  return result === undefined ? null : JSON.stringify(result).slice(0, MAX_RESULT_CHARS);
}
