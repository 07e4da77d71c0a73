// A small client for `plangate serve` (docs/deploy.md): every request bounded in time;
// any failure is an exception the caller turns into a block.

export class ServiceError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;

  constructor(message: string, status: number, body: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export interface ServiceOptions {
  url: string;
  token: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export class PlangateService {
  private readonly base: string;
  private readonly doFetch: typeof fetch;
  private readonly options: ServiceOptions;

  constructor(options: ServiceOptions) {
    this.options = options;
    this.base = options.url.replace(/\/+$/, "");
    this.doFetch = options.fetch ?? fetch;
  }

  async request(method: "GET" | "POST", path: string, body?: unknown): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await this.doFetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.options.token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: "error",
      });
    } catch (err) {
      throw new ServiceError(`plangate service unreachable (${describe(err)}); every call is blocked`, 0, {});
    }
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch {
      throw new ServiceError(`plangate service answered ${response.status} without JSON; blocked`, response.status, {});
    }
    const data = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
    if (!response.ok) {
      const why = typeof data.error === "string" ? data.error : `HTTP ${response.status}`;
      throw new ServiceError(why, response.status, data);
    }
    return data;
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code = typeof cause === "object" && cause !== null && "code" in cause ? String((cause as { code: unknown }).code) : "";
    return (err.name === "TimeoutError" ? "timed out" : err.message) + (code ? ` ${code}` : "");
  }
  return String(err);
}
