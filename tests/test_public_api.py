"""The curated public API: what `import plangate` offers, pinned."""

import importlib

import plangate


def test_all_is_sorted_and_importable() -> None:
    """`__all__` is sorted (so additions are reviewed) and every name in it exists."""
    assert list(plangate.__all__) == sorted(plangate.__all__)
    for name in plangate.__all__:
        assert hasattr(plangate, name), name


def test_subpackages_are_not_shadowed_by_exports() -> None:
    """Each stage stays importable as `plangate.<stage>.<module>` after `import plangate`."""
    for module in ("plangate.review.flow", "plangate.plan.codec", "plangate.policy.engine",
                   "plangate.execute.executor", "plangate.audit.log"):
        mod = importlib.import_module(module)
        parent, _, leaf = module.rpartition(".")
        assert getattr(importlib.import_module(parent), leaf) is mod


def test_version_matches_the_package_metadata() -> None:
    """`plangate --version` and the installed distribution agree."""
    from importlib.metadata import version

    assert plangate.__version__ == version("plangate")
