"""``one codegen``: Convex's ``_generated`` for the platform's functions, so that a frontend on
Convex's clients is type-checked against what the platform accepts and answers.

``npx convex codegen`` writes ``convex/_generated`` from a Convex project's TypeScript functions; the
platform's functions are Python, so their types are written out from their pydantic models
(:mod:`infra.codegen.validators`, then :mod:`infra.codegen.typescript`), the way convex-helpers'
``ts-api-spec`` writes them from ``npx convex function-spec``:

- ``api.js`` / ``api.d.ts``: ``api`` names every public query, mutation and action by the platform's
  own name and by its camelCase (``api.tokens.get_balance``, ``api.tokens.getBalance``), each a
  ``FunctionReference<kind, "public", Args, Returns>``; ``internal`` the internal functions, which
  ``api`` never names. At run time both are Convex's ``anyApi``: ``getFunctionName(api.tokens.getBalance)``
  is ``"tokens:getBalance"``, which the platform resolves.
- ``dataModel.d.ts``: ``Id``, ``Doc``, ``TableNames`` and ``DataModel`` from the schema, an entity's
  ``properties`` typed from its type's model (``Entity<"token">``), and the platform's enumerations.
- ``one codegen --spec``: the function spec (``npx convex function-spec``'s JSON) for other languages.

``python -m infra.codegen`` (``one codegen``) writes them into ``--out`` (``convex/_generated``),
changing only files whose content changed; ``--check`` exits 1 when one is not what the functions
give; ``--watch`` regenerates whenever a function or model file changes (``make dev`` runs it beside
the local stack).
"""

from __future__ import annotations

from infra.codegen.files import FILES, function_spec, render

__all__ = ["DEFAULT_OUT", "FILES", "function_spec", "render"]

#: Where ``one codegen`` writes, as ``npx convex codegen`` does: relative to the current folder.
DEFAULT_OUT = "convex/_generated"
