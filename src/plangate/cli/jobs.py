"""`plangate demo` and `plangate bench`: the long-running commands.

Every output path is checked before the work starts, and the work reports progress on
stderr (`Progress`), so neither a typo in `--json` nor a silent minute costs a run.
"""

from __future__ import annotations

import argparse
import importlib.util

from plangate.cli.files import InputError, new_or_existing_db, output_path
from plangate.cli.progress import Progress
from plangate.config import load_settings


def cmd_demo(args: argparse.Namespace) -> int:
    import importlib

    from plangate.demo import main as demo_main

    if args.deployment != "inbox":  # each deployment's demo: plangate.deployments.NAME.demo.main(args)
        output_path(args.json, "--json")
        output_path(args.html, "--html")
        module = importlib.import_module(f"plangate.deployments.{args.deployment}.demo")
        return int(module.main(args))

    # Only the model is read: the demo's audit log is its own (--db), never PLANGATE_DB's.
    args.model = load_settings({"model": args.model}, config=args.config).model
    output_path(args.json, "--json")
    output_path(args.html, "--html")
    if args.db:
        new_or_existing_db(args.db)
    return demo_main(args)


def cmd_bench(args: argparse.Namespace) -> int:
    output_path(args.json, "--json")
    output_path(getattr(args, "markdown", None), "--markdown")
    if args.which == "perf":
        from plangate.bench.perf import STAGES
        from plangate.bench.perf import main as perf_main

        perf = Progress("bench perf", STAGES, unit="stages")
        code = perf_main(json_path=args.json, quick=args.quick, progress=lambda stage: perf.step(note=stage),
                         say=perf.echo)
        perf.finish()
        return code
    if args.which == "inbox":
        from plangate.bench.inbox import main as inbox_main

        inbox = Progress("bench inbox", unit="scenarios")

        def tick(done: int, total: int) -> None:
            inbox.total = total
            inbox.step()

        code = inbox_main(args, progress=tick, say=inbox.echo)
        inbox.finish()
        return code
    if args.which == "leak":
        return _leak(args)
    if args.which == "service":
        for module in ("fastapi", "uvicorn"):
            if importlib.util.find_spec(module) is None:
                raise InputError(f"bench service needs {module}: pip install 'plangate[service]'")
        if args.seconds <= 0 or args.soak_seconds <= 0:
            raise InputError("--seconds and --soak-seconds must be more than 0")
        if (args.db or args.redis) and args.backend != "postgres":
            raise InputError("--db and --redis go with --backend postgres")
        if args.db and not args.db.startswith(("postgresql://", "postgres://")):
            raise InputError(f"--db {args.db}: a postgresql:// URL")
        if args.redis and not args.redis.startswith(("redis://", "rediss://")):
            raise InputError(f"--redis {args.redis}: a redis:// URL")
        from plangate.bench.service import main as service_main

        return service_main(json_path=args.json, seconds=args.seconds, soak_seconds=args.soak_seconds,
                            workers=args.workers, backend=args.backend, db=args.db, redis=args.redis)
    if args.which == "search":
        from plangate.bench.search.cli import main as search_main

        return search_main(args)
    return _agentdojo(args)


def _agentdojo_model(args: argparse.Namespace, all_suites: tuple[str, ...]) -> int:
    """AgentDojo with a model: plangate's pipeline beside AgentDojo's undefended one."""
    from plangate.model.config import parse_spec
    from plangate.model.errors import ModelConfigError

    if not args.model.startswith("openai:"):
        raise InputError(f"--model {args.model}: bench agentdojo runs openai:NAME (any OpenAI-compatible "
                         "endpoint): AgentDojo's undefended pipeline beside it is its OpenAILLM")
    if importlib.util.find_spec("openai") is None:
        raise InputError("bench agentdojo --model needs the openai SDK: pip install 'plangate[models]'")
    try:
        config = parse_spec(args.model, base_url=args.base_url)
        if args.base_url:
            config.api_key()  # a remote endpoint needs its key before the run starts
    except ModelConfigError as exc:
        raise InputError(str(exc)) from None
    from plangate.bench.agentdojo.modelbench import (  # type: ignore[import-not-found,unused-ignore]
        main as model_main,
    )
    from plangate.bench.agentdojo.modelbench import (  # type: ignore[import-not-found,unused-ignore]
        work_units as model_units,
    )

    progress = Progress("bench agentdojo --model", model_units(args.suite or all_suites, args.tasks,
                                                               args.injections), unit="tasks and pairs")
    code = int(model_main(args, progress=progress.step, say=progress.echo))
    progress.finish()
    return code


def _leak(args: argparse.Namespace) -> int:
    from plangate.bench.inbox import shipped_policy
    from plangate.bench.leak import main as leak_main
    from plangate.cli.files import read_document
    from plangate.policy import load_policy

    if args.every < 1:
        raise InputError("--every must be 1 or more")
    if args.policy:
        read_document(args.policy, "--policy", what="a policy")
    policy = load_policy(args.policy) if args.policy else shipped_policy()
    return leak_main(policy=policy, json_path=args.json, every=args.every)


def _agentdojo(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("agentdojo") is None:
        raise InputError("bench agentdojo needs AgentDojo: pip install --no-deps agentdojo==0.1.35 "
                         "(scripts/setup does it)")
    from plangate.bench.agentdojo._light import install_stubs  # type: ignore[import-not-found,unused-ignore]

    install_stubs()  # AgentDojo imports every model vendor's SDK; absent ones are stubbed
    from plangate.bench.agentdojo import replay as rp  # type: ignore[import-not-found,unused-ignore]
    from plangate.bench.agentdojo.cli import (  # type: ignore[import-not-found,unused-ignore]
        SUPPORTED_VERSION,
        work_units,
    )
    from plangate.bench.agentdojo.cli import main as ad_main  # type: ignore[import-not-found,unused-ignore]

    if args.benchmark_version != SUPPORTED_VERSION:
        raise InputError(f"--benchmark-version {args.benchmark_version}: only {SUPPORTED_VERSION} "
                         "is converted")
    unknown = [s for s in args.suite or [] if s not in rp.SUITES]
    if unknown:
        raise InputError(f"--suite {unknown[0]}: unknown suite; known: {', '.join(rp.SUITES)}")
    if getattr(args, "model", None):
        return _agentdojo_model(args, rp.SUITES)
    for flag in ("base_url", "tasks", "injections"):
        if getattr(args, flag, None):
            raise InputError(f"--{flag.replace('_', '-')} goes with --model")
    progress = Progress("bench agentdojo", work_units(args.suite or rp.SUITES),
                        unit="tasks and pairs")
    code = int(ad_main(args, progress=progress.step, say=progress.echo))
    progress.finish()
    return code
