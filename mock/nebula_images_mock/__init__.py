"""The local mock of the API, for tests and CI (the ``nebula-images-mock`` distribution).

```python
from nebula_images_mock import MockServer, MockConfig, Fault

with MockServer(MockConfig()) as mock:
    mock.base_url   # http://127.0.0.1:PORT/api/v1
    mock.api_key    # a key it accepts (by default any key that starts with "ak_")
    mock.faults.push(Fault.status(503, retry_after="1"))
    mock.ledger.billed
```

The names load lazily so that importing this package (as the pytest plugin does)
costs nothing. ``nebula_images.testing`` re-exports this package for users of the
client's ``mock`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._config import MockConfig
    from ._faults import Fault, FaultQueue
    from ._ledger import Ledger, LedgerEntry
    from ._server import MockServer

__all__ = ["Fault", "FaultQueue", "Ledger", "LedgerEntry", "MockConfig", "MockServer"]

_WHERE = {
    "MockConfig": "._config",
    "Fault": "._faults",
    "FaultQueue": "._faults",
    "Ledger": "._ledger",
    "LedgerEntry": "._ledger",
    "MockServer": "._server",
}


def __getattr__(name: str) -> Any:
    module_name = _WHERE.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    try:
        module = importlib.import_module(module_name, __name__)
    except ImportError as exc:
        raise ImportError(
            f"nebula_images_mock.{name} cannot be imported: pip install nebula-images-mock ({exc})"
        ) from exc
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(__all__)
