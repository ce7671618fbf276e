"""Convex function paths → the platform's public functions.

``tokens:getBalance`` (the reference's camelCase) and ``tokens:get_balance`` (ours) name the same
function, as does any alias a function declares (``creators:getCreatorWithContent``). A ``.js`` module
suffix is ignored (Convex's Rust client canonicalises ``tokens:get`` to ``tokens.js:get``) and a path
without ``:name`` means ``:default``. An internal function is never found: it is not public. A system
function is found by its ``_system/<name>:<function>`` path only (``_system/dashboard:scheduled`` is
``system_dashboard:scheduled``), and nothing else is found under ``_system/``.
"""

from __future__ import annotations

import re

from ontology.errors import NotFoundError
from ontology.runtime.registry import (
    REGISTRY,
    SYSTEM_NAMESPACE,
    SYSTEM_PREFIX,
    RegisteredFunction,
    resolve,
)

__all__ = ["resolve_public", "snake_case"]

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    return _CAMEL.sub(r"_\1", name).lower()


def _not_found(udf_path: str) -> NotFoundError:
    return NotFoundError(f"Could not find public function for '{udf_path}'.", path=udf_path)


def resolve_public(udf_path: object) -> RegisteredFunction:
    if not isinstance(udf_path, str) or not udf_path or len(udf_path) > 256:
        raise _not_found(str(udf_path)[:256])
    module, _, name = udf_path.partition(":")
    module = module.removesuffix(".js")
    system = module.startswith(SYSTEM_PREFIX)
    if system:
        module = SYSTEM_NAMESPACE + module.removeprefix(SYSTEM_PREFIX)
        if "/" in module:
            raise _not_found(udf_path)
    name = name or "default"
    for candidate in dict.fromkeys((name, snake_case(name))):
        try:
            fn = resolve(f"{module}:{candidate}")
        except NotFoundError:
            continue
        if not fn.spec.internal and fn.spec.system == system:
            return fn
    for fn in list(REGISTRY.values()):
        if fn.spec.module == module and name in fn.spec.aliases and not fn.spec.internal and not system:
            return fn
    raise _not_found(udf_path)
