"""The local mock of the API: a re-export of the ``nebula-images-mock`` distribution.

The mock is its own distribution (``pip install 'nebula-images[mock]'`` or
``pip install nebula-images-mock``), so the client's wheel carries no server code.
``nebula_images.testing`` and its submodules (``nebula_images.testing._config``, ...)
are the same module objects as ``nebula_images_mock`` and its submodules::

    from nebula_images.testing import MockServer, MockConfig, Fault
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import CodeType, ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nebula_images_mock import Fault, FaultQueue, Ledger, LedgerEntry, MockConfig, MockServer

__all__ = ["Fault", "FaultQueue", "Ledger", "LedgerEntry", "MockConfig", "MockServer"]

_TARGET = "nebula_images_mock"
_MISSING = "the mock is not installed: pip install 'nebula-images[mock]'"


def _target_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != _TARGET:
            raise
        raise ImportError(f"{name}: {_MISSING}") from None


class _SubmoduleAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``nebula_images.testing.X`` as the module ``nebula_images_mock.X`` itself,
    so that old import paths and the new ones share one set of classes and state."""

    prefix = __name__ + "."

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(self.prefix):
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return _target_module(_TARGET + "." + spec.name.removeprefix(self.prefix))

    def exec_module(self, module: ModuleType) -> None:
        """The target module has run already."""

    def get_code(self, fullname: str) -> CodeType | None:
        """For ``python -m nebula_images.testing``: the target module's code."""
        target = _TARGET + "." + fullname.removeprefix(self.prefix)
        spec = importlib.util.find_spec(target)
        if spec is None or not isinstance(spec.loader, importlib.abc.InspectLoader):
            raise ImportError(f"{fullname}: {_MISSING}")
        return spec.loader.get_code(target)


if not any(isinstance(finder, _SubmoduleAlias) for finder in sys.meta_path):
    sys.meta_path.insert(0, _SubmoduleAlias())


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(_target_module(_TARGET), name)


def __dir__() -> list[str]:
    return sorted(__all__)
