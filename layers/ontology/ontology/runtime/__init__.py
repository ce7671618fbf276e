"""The function runtime: the registry the decorators fill, the contexts a function receives, the Lambda
handler behind every function, the scheduler and crons, and the OpenAPI document. It stands on the data
layer and auth's identity; it never imports services or providers.

- :mod:`~ontology.runtime.registry` — function specs, ``Args``, ``resolve``, ``load_all`` (the
  namespaces found by walking ``functions/``);
- :mod:`~ontology.runtime.examples` — sample values for the argument models' examples;
- :mod:`~ontology.runtime.functions` — ``@query``, ``@mutation``, ``@action`` (each a Lambda handler);
- :mod:`~ontology.runtime.context` — ``QueryCtx``, ``MutationCtx``, ``ActionCtx`` and ``invoke``;
- :mod:`~ontology.runtime.handler` — the Lambda handler: each event to its source's resolver
  (:mod:`~ontology.runtime.resolvers`: the HTTP API, the sync protocol, scheduled jobs, crons, plain
  calls), traced, logged and measured with Powertools (:mod:`~ontology.runtime.observability`);
- :mod:`~ontology.runtime.scheduler`, :mod:`~ontology.runtime.jobs`, :mod:`~ontology.runtime.crons`;
- :mod:`~ontology.runtime.openapi`, :mod:`~ontology.runtime.results` (result models).
"""
