"""Load one ccxt exchange class without the ~110 others ccxt ships.

ccxt's package ``__init__`` files (``ccxt/__init__.py``, ``ccxt/async_support/__init__.py``)
import every exchange, sync and async (331 modules, about 60 MB of a venue actor's memory),
and Python runs a package's ``__init__`` before any of its submodules: even
``import ccxt.async_support.binance`` loads them all. A venue actor uses one.

`exchange_class` loads the async class of one exchange with the modules it imports itself
(``ccxt.base``, ``ccxt.async_support.base``, ``ccxt.abstract.<id>``). When ``ccxt`` or
``ccxt.async_support`` is not imported yet in the process, it first registers a *stand-in*
for that package: the package's own module object, made from its import spec and put in
`sys.modules` (`importlib.util.find_spec`, `importlib.util.module_from_spec`: the documented
steps of an import, without running the package's ``__init__``), holding the names ccxt's
own submodules import from the package (``__version__``, ``Exchange``, ``Precise``, the
error classes). Submodules then import from the package's directory as usual, and the class
is set on its package as the ``__init__`` would set it (``ccxt.async_support.binance`` is
the class). The client is ccxt's own class: it signs and sends every request.

A stand-in completes itself on the first use of a name it does not hold: ``ccxt.exchanges``,
``ccxt.async_support.okx`` or ``from ccxt import bitget`` run the package's real ``__init__``
in that module first, so code that wants all of ccxt in the same process still gets all of
it (at the usual cost). When ccxt was imported in full first, no stand-in is made and the
class is read from the package.

`base_errors` is ccxt's error module (``ccxt.base.errors``), loaded the same way, for the
modules that translate ccxt's exceptions.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Callable

__all__ = ["base_errors", "exchange_class"]

_LOCK = threading.RLock()
_ASYNC = "ccxt.async_support"


def _completer(module: types.ModuleType, spec: importlib.machinery.ModuleSpec
               ) -> Callable[[str], object]:
    """The stand-in's module ``__getattr__``: run the real ``__init__`` once, then look up."""
    done = False

    def __getattr__(name: str) -> object:
        nonlocal done
        if done or (name.startswith("__") and name != "__all__"):
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
        with _LOCK:
            if not done:
                done = True
                assert spec.loader is not None  # find_spec found a source package
                spec.loader.exec_module(module)
        return getattr(module, name)

    return __getattr__


def _stand_in(name: str) -> types.ModuleType:
    """``sys.modules[name]``, registering an empty stand-in for the package if absent."""
    found = sys.modules.get(name)
    if found is not None:
        return found
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not an installed package", name=name)
    module = importlib.util.module_from_spec(spec)
    module.__getattr__ = _completer(module, spec)  # type: ignore[method-assign]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


def _fill(module: types.ModuleType, names: dict[str, object]) -> None:
    for key, value in names.items():
        module.__dict__.setdefault(key, value)


def _packages() -> types.ModuleType:
    """Make sure ``ccxt`` and ``ccxt.async_support`` exist; return the latter."""
    with _LOCK:
        top = _stand_in("ccxt")
        errors = importlib.import_module("ccxt.base.errors")
        sync_base = importlib.import_module("ccxt.base.exchange")
        precise = importlib.import_module("ccxt.base.precise")
        shared = {name: getattr(errors, name) for name in errors.__all__}
        shared.update(errors=errors, Precise=precise.Precise, __version__=sync_base.__version__)
        _fill(top, {**shared, "Exchange": sync_base.Exchange})
        package = _stand_in(_ASYNC)
        async_base = importlib.import_module("ccxt.async_support.base.exchange")
        _fill(package, {**shared, "Exchange": async_base.Exchange})
        return package


def base_errors() -> types.ModuleType:
    """ccxt's exception classes (``ccxt.base.errors``), without loading every exchange."""
    with _LOCK:
        _stand_in("ccxt")
        return importlib.import_module("ccxt.base.errors")


def exchange_class(ccxt_id: str) -> type:
    """The ``ccxt.async_support`` class of one exchange, loading that exchange only.

    Args:
        ccxt_id: ccxt's exchange id (``binance``, ``bybit``, ``okx``...).

    Raises:
        ValueError: ccxt has no exchange of that id.
    """
    package = _packages()
    found = package.__dict__.get(ccxt_id)
    if isinstance(found, type):
        return found
    if not ccxt_id.isidentifier() or ccxt_id in ("base", "pro"):
        raise ValueError(f"ccxt has no exchange {ccxt_id!r}")
    name = f"{_ASYNC}.{ccxt_id}"
    with _LOCK:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            raise ValueError(f"ccxt has no exchange {ccxt_id!r}") from None
        cls = getattr(module, ccxt_id, None)
        if isinstance(cls, type) and issubclass(cls, package.Exchange):
            setattr(package, ccxt_id, cls)
            return cls
    raise ValueError(f"ccxt has no exchange {ccxt_id!r}")
