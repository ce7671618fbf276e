"""The stack's outputs: the URLs clients and operators use, the table, the bucket, the saga, the
alarms' topic and the layer."""

from __future__ import annotations

from typing import Any

from infra.template.base import public_url_parameter
from infra.template.observability import ALARM_TOPIC
from infra.template.saga import STATE_MACHINE
from infra.template.sync import SYNC_STAGE


def stack_outputs() -> dict[str, Any]:
    """Each output with its description."""
    return {
        "ApiUrl": {
            "Description": (
                "Base URL of the API and of Convex's clients (functions at /api/<module>/<function>, "
                "/api/query|mutation|action, the sync protocol at /api/sync)."
            ),
            "Value": {"Fn::Sub": "https://${Distribution.DomainName}"},
        },
        "PublicUrl": {
            "Description": "The platform's public URL: links and the OAuth redirect URI start with it.",
            "Value": public_url_parameter()["Properties"]["Value"],
        },
        "HttpApiUrl": {
            "Description": "The HTTP API's own URL (without the sync protocol).",
            "Value": {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
        },
        "SyncApiUrl": {
            "Description": "The WebSocket API's own stage URL.",
            "Value": {
                "Fn::Sub": "wss://${SyncApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + SYNC_STAGE
            },
        },
        "TableName": {
            "Description": "The single DynamoDB table of the ontology.",
            "Value": {"Ref": "Table"},
        },
        "TableStreamArn": {
            "Description": "The table's stream (scheduler outbox, subscriptions).",
            "Value": {"Fn::GetAtt": ["Table", "StreamArn"]},
        },
        "FilesBucketName": {
            "Description": "The private bucket of uploaded files.",
            "Value": {"Ref": "FilesBucket"},
        },
        "TokenPurchaseStateMachineArn": {
            "Description": "The token purchase saga (executions are named after purchase ids).",
            "Value": {"Ref": STATE_MACHINE},
        },
        "AlarmTopicArn": {
            "Description": (
                "The SNS topic every alarm notifies: a dead-letter queue or a stream failure"
                " destination with messages, a stream mapping falling behind (docs/deploying.md)."
            ),
            "Value": {"Ref": ALARM_TOPIC},
        },
        "OntologyLayerArn": {
            "Description": "The ontology layer version.",
            "Value": {"Ref": "OntologyLayer"},
        },
    }
