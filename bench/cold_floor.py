"""What any function's Lambda imports before a line of the platform's own code: botocore's session and
config (the layer's clients), pydantic's models and fields (the argument models), Powertools (the
handler's logs, metrics and traces). ``make bench`` measures its import against ``import boto3``: the
floor under a query Lambda's cold import."""

from __future__ import annotations

import botocore.config
import botocore.session
from aws_lambda_powertools import Logger, Metrics, Tracer
from pydantic import BaseModel, Field, StrictStr

__all__ = ["BaseModel", "Field", "Logger", "Metrics", "StrictStr", "Tracer", "botocore"]
