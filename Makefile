# The two commands of the README:
#   make demo   the main job, on embedded defaults (SQLite, no service to start)
#   make test   the whole test suite, lint and type checks, the README's quickstart and
#               walkthrough, with the real services it needs
.PHONY: demo test setup lint

setup:
	./scripts/setup

demo: setup
	.venv/bin/plangate demo

test:
	PLANGATE_SETUP_SERVICES=1 ./scripts/setup
	.venv/bin/ruff check src tests
	.venv/bin/mypy
	.venv/bin/lint-imports
	.venv/bin/python scripts/readme_quickstart.py
	.venv/bin/python scripts/readme_walkthrough.py
	PLANGATE_NATIVE_REQUIRED=1 .venv/bin/pytest -q
