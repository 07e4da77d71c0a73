// The deployment's mail tool in the OpenClaw end-to-end test: `email_send` speaks SMTP to
// an aiosmtpd server on 127.0.0.1 (the outbox the test reads). Not part of the plugin.
import { connect } from "node:net";
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";

function smtp(port: number, from: string, to: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const steps = [`EHLO openclaw\r\n`, `MAIL FROM:<${from}>\r\n`, `RCPT TO:<${to}>\r\n`, `DATA\r\n`,
      data.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..") + "\r\n.\r\n", `QUIT\r\n`];
    let buffer = "";
    socket.setTimeout(10_000, () => socket.destroy(new Error("smtp timeout")));
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      const lines = buffer.split("\r\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (/^\d{3}-/.test(line)) continue; // continuation of a multi-line reply
        if (!/^[23]\d\d /.test(line)) { socket.destroy(); reject(new Error(`smtp: ${line}`)); return; }
        const next = steps.shift();
        if (next === undefined) { socket.end(); resolve(); return; }
        socket.write(next);
      }
    });
    socket.on("error", reject);
  });
}

export default definePluginEntry({
  id: "mailtool",
  name: "Test mail tool",
  description: "email_send over SMTP to a loopback server.",
  register(api: any) {
    const port = Number(api.pluginConfig?.smtpPort ?? 0);
    const from = String(api.pluginConfig?.from ?? "agent@home.example");
    api.registerTool({
      name: "email_send",
      label: "Send email",
      description: "Send an email.",
      catalogMode: "direct-only",
      parameters: {
        type: "object", required: ["to", "subject", "body"],
        properties: { to: { type: "string" }, subject: { type: "string" }, body: { type: "string" } },
      },
      async execute(_id: string, params: { to: string; subject: string; body: string }) {
        if (/[\r\n]/.test(params.to + params.subject)) throw new Error("header injection");
        const data = `From: ${from}\nTo: ${params.to}\nSubject: ${params.subject}\n\n${params.body}`;
        await smtp(port, from, params.to, data);
        return { content: [{ type: "text", text: `sent to ${params.to}` }], details: {} };
      },
    });
  },
});
