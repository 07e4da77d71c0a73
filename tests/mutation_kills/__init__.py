"""Tests written for mutants that survived `scripts/mutation_score.py`: each pins a security
behaviour no other test did (see docs/benchmarks/mutation.md)."""
