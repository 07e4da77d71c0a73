// A fake `plangate serve` for the unit tests: the same routes and shapes, scripted answers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface Seen { method: string; path: string; body: any; auth: string }

export type Route = (body: any, seen: Seen) => { status: number; body: unknown; delayMs?: number; raw?: string };

export class FakeService {
  readonly seen: Seen[] = [];
  routes = new Map<string, Route>();
  private server?: Server;
  url = "";

  on(method: string, prefix: string, route: Route): this {
    this.routes.set(`${method} ${prefix}`, route);
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        const seen: Seen = { method: req.method ?? "", path: req.url ?? "", body: data ? JSON.parse(data) : undefined,
          auth: String(req.headers.authorization ?? "") };
        this.seen.push(seen);
        const key = [...this.routes.keys()].find((k) => `${seen.method} ${seen.path}`.startsWith(k));
        const answer = key ? this.routes.get(key)!(seen.body, seen) : { status: 404, body: { error: "no route" } };
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status, { "content-type": "application/json" });
          res.end(answer.raw ?? JSON.stringify(answer.body));
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs); else send();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
