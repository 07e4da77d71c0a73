"""Benchmarks: speed (`perf`), AgentDojo against a hijacked agent, InboxBench."""
