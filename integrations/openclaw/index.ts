// plangate for OpenClaw: every tool call of every run is checked against a plan the
// plangate service reviewed for the run's trigger. See docs/openclaw.md in the plangate
// repository. Fail closed: service down, bad config or any error blocks the call.
import { definePluginEntry, type OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { Gate, readConfig, SUBMIT_PLAN } from "./src/gate.ts";

/** The lowest priority OpenClaw's sort handles exactly. */
export const CHECK_PRIORITY = Number.MIN_SAFE_INTEGER;

export const PLAN_FIRST = [
  "## plangate: plan first",
  "Every tool call in this run is checked by plangate against a plan it reviewed for who sent this request.",
  `Your FIRST tool call must be ${SUBMIT_PLAN} with {"plan": PLAN}. Calls without an approved plan are blocked.`,
  'PLAN = {"version": 1, "request_type": TYPE, "steps": [{"id": "s1", "tool": TOOL, "args": {NAME: VALUE, ...}}, ...]}.',
  'Each VALUE is {"literal": V, "origin": "payload"} (copied from the message), {"literal": V, "origin": "planner"} (your own words),',
  '{"ref": "trigger", "path": "principal"} (the sender) or {"ref": STEP_ID} (an earlier step\'s result).',
  "List every argument you will pass, exactly as you will pass it; call the steps in order and nothing else.",
  "Tools reached through tool_call are planned under their own name. If the plan is denied, call no other tool.",
].join("\n");

export default definePluginEntry({
  id: "plangate",
  name: "plangate",
  description: "Plan-gated tool calls: every call checked against a plan reviewed for who asked.",
  register(api: OpenClawPluginApi) {
    const config = readConfig(api.pluginConfig);
    const gate = new Gate(config, undefined, (msg) => api.logger?.info?.(msg));

    api.on("before_prompt_build", (event, ctx) => {
      gate.recordTrigger(event.prompt ?? "", ctx);
      return { appendSystemContext: PLAN_FIRST };
    });

    // Last of all handlers (OpenClaw runs them by priority, higher first, and the last
    // `params` wins): a plugin at -1001 rewrote the checked parameters after the check.
    api.on("before_tool_call", (event, ctx) => gate.beforeToolCall(event, ctx), { priority: CHECK_PRIORITY });

    api.on("after_tool_call", (event, ctx) => gate.afterToolCall(event, ctx));

    api.on("agent_end", (_event, ctx) => {
      setTimeout(() => gate.forget(ctx.runId), 60_000).unref();
    });

    api.registerTool({
      name: SUBMIT_PLAN,
      label: "Submit plan",
      description: "Submit the plan for this request to plangate before any other tool call. Returns the verdict.",
      catalogMode: "direct-only",
      executionMode: "sequential",
      parameters: {
        type: "object",
        required: ["plan"],
        properties: { plan: { type: "object", description: "the plangate plan: {version, request_type, steps}" } },
      },
      async execute(toolCallId: string, params: unknown) {
        const args = (params && typeof params === "object" ? params : {}) as Record<string, unknown>;
        return { content: [{ type: "text" as const, text: gate.planAnswer(args, toolCallId) }], details: {} };
      },
    });
  },
});
