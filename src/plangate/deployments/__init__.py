"""Deployments: a policy pack, a tool catalog and tools on real services, each above the core.

`inbox` is the autonomous inbox assistant. Each deployment depends on the core
(trigger, plan, review, execute, audit) and never the reverse; deployments do not
import each other (the import contract in pyproject.toml pins both).
"""
