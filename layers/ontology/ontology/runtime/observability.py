"""The function runtime's logs and metrics, with Powertools: one :data:`logger` and one :data:`metrics`,
named by the environment the template gives every function (``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``), never in the code.

Example::

    from ontology.runtime.observability import logger, metrics

    @metrics.log_metrics
    def lambda_handler(event, context): ...
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

__all__ = ["logger", "metrics"]

#: Structured JSON logs of the handler: the service from POWERTOOLS_SERVICE_NAME, the level from
#: POWERTOOLS_LOG_LEVEL.
logger = Logger()
#: CloudWatch metrics (EMF) in POWERTOOLS_METRICS_NAMESPACE, with the service as a dimension; published
#: by ``metrics.log_metrics`` at the end of an invocation.
metrics = Metrics()
