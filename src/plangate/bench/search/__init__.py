"""`plangate bench search`: an automated worst-case attacker over AgentDojo and InboxBench.

For every attacker goal it generates hijacked plans that try to reach the goal by every
route the tools offer (recipes.py), runs them through the real gate in the benchmark's
own environment, and judges the state with the benchmark's own judge (engine.py). See
docs/benchmarks/search.md.
"""
