"""Import AgentDojo without the model vendors' SDKs ("AgentDojo light").

``agentdojo`` 0.1.35 imports ``openai``, ``anthropic``, ``cohere``, ``google.genai``
and ``requests`` eagerly (``agentdojo.agent_pipeline`` and ``agentdojo.benchmark``),
although none of them is needed to load the task suites, run the tools and score
tasks offline.  :func:`install_stubs` registers a meta-path finder that serves
*placeholder* modules for exactly those vendor packages that cannot be found on
``sys.path``.  The finder is appended to ``sys.meta_path``, after every real
finder, so an installed SDK is never shadowed: it only answers when every other
finder has already failed.

A placeholder module answers any attribute with a placeholder class.  Classes can
be subclassed, subscripted, used in ``except`` clauses and in ``X | None``; calling
one (e.g. ``openai.OpenAI()``) raises :class:`VendorSDKMissing`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence
from typing import Any

__all__ = ["VENDOR_MODULES", "VendorSDKMissing", "import_agentdojo", "install_stubs", "stubbed_modules"]

#: Vendor modules agentdojo 0.1.35 imports at import time (found by reading its source:
#: ``agent_pipeline/agent_pipeline.py``, ``agent_pipeline/llms/*.py``, ``benchmark.py``).
VENDOR_MODULES: tuple[str, ...] = ("openai", "anthropic", "cohere", "google.genai", "requests")

_STUB_MARK = "__plangate_stub__"


class VendorSDKMissing(RuntimeError):
    """Raised when code actually tries to use a stubbed vendor SDK."""


class _StubMeta(type):
    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _stub_class(f"{cls.__qualname__}.{name}", cls.__module__)

    def __getitem__(cls, item: object) -> Any:
        return cls


class _StubBase(Exception, metaclass=_StubMeta):
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise VendorSDKMissing(
            f"{type(self).__module__}.{type(self).__qualname__} is a placeholder: the vendor SDK "
            "is not installed (plangate.bench.agentdojo._light)"
        )


def _stub_class(qualname: str, module: str) -> type:
    cls = _StubMeta(qualname.rsplit(".", 1)[-1], (_StubBase,), {"__module__": module, "__qualname__": qualname})
    return cls


class _StubModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = _stub_class(name, self.__name__)
        setattr(self, name, value)
        return value


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StubModule(spec.name)
        setattr(module, _STUB_MARK, True)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []  # a package: submodules are served by the finder too


class _StubFinder(importlib.abc.MetaPathFinder):
    def __init__(self, roots: Sequence[str]) -> None:
        self.roots = tuple(roots)

    def _serves(self, fullname: str) -> bool:
        return any(fullname == r or fullname.startswith(r + ".") or r.startswith(fullname + ".") for r in self.roots)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not self._serves(fullname):
            return None
        return importlib.machinery.ModuleSpec(fullname, _StubLoader(), is_package=True)


def _is_available(name: str) -> bool:
    if name in sys.modules:
        return not getattr(sys.modules[name], _STUB_MARK, False)
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # parent package missing
        return False


_finder: _StubFinder | None = None


def install_stubs() -> list[str]:
    """Register placeholders for the absent vendor SDKs; return their names (idempotent)."""
    global _finder
    if _finder is not None:
        return list(_finder.roots)
    missing = [name for name in VENDOR_MODULES if not _is_available(name)]
    _finder = _StubFinder(missing)
    sys.meta_path.append(_finder)
    return missing


def stubbed_modules() -> list[str]:
    """Names of the modules currently served by placeholders."""
    return sorted(name for name, mod in sys.modules.items() if getattr(mod, _STUB_MARK, False))


def import_agentdojo() -> types.ModuleType:
    """Install the stubs if needed, then import and return ``agentdojo.task_suite.load_suites``."""
    install_stubs()
    return importlib.import_module("agentdojo.task_suite.load_suites")
