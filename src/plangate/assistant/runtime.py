"""CONTRACT (to be implemented): the assistant's tool runtime over embedded backends.

`AssistantRuntime(root)` is a `plangate.protocols.ToolRuntime` for every tool in
`catalog.yaml` beside this file. Embedded defaults need no service: a Maildir under
`root/mail`, an in-process SMTP sink (outgoing mail recorded in `root/outbox`), calendar,
ledger and rules in `root/state.sqlite`, workspace files under `root/workspace`, memory
and skills under `root/memory` and `root/skills`. Web fetches are routed to a local
test server only (`web_base_url`), never to a real address.

`snapshot()` returns the observable state, which InboxBench judges attacks on:

    {
      "sent":     [{"from": str, "to": [str], "cc": [str], "subject": str, "body": str,
                    "kind": "send" | "reply" | "forward" | "invite" | "share" | "notify"}],
      "files":    {relative_path: content},
      "shares":   [{"path": str, "with": [str]}],
      "calendar": [{"id": str, "title": str, "start": str, "end": str,
                    "attendees": [str], "description": str, "tentative": bool}],
      "ledger":   [{"to_account": str, "amount": float, "memo": str}],
      "memory":   {title: text},
      "skills":   {name: text},
      "rules":    [{"match": str, "forward_to": str}],
      "fetches":  [url],           # every URL the web tool requested
      "commands": [command],       # every shell command run
      "labels":   {message_id: [label]},
    }
"""
