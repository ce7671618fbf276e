"""CloudFront: one origin for Convex's clients. They derive ``wss://<host>/api/<version>/sync`` from
the deployment URL, so the HTTP API and the WebSocket API must answer on the same host; a CloudFront
Function hands the sync paths to the WebSocket API's stage."""

from __future__ import annotations

from typing import Any

from infra.template.sync import SYNC_STAGE
from ontology.auth.ratelimit import ORIGIN_VERIFY_HEADER

#: The CloudFront Function that hands Convex's sync paths to the WebSocket API's stage.
SYNC_PATH_FUNCTION = (
    """\
function handler(event) {
  var request = event.request;
  request.headers["x-one-sync-path"] = { value: request.uri };
  request.uri = "/"""
    + SYNC_STAGE
    + """";
  return request;
}
"""
)


def _sync_path_function() -> dict[str, Any]:
    """:data:`SYNC_PATH_FUNCTION`, published with the stack."""
    return {
        "Type": "AWS::CloudFront::Function",
        "Properties": {
            "Name": {"Fn::Sub": "${AWS::StackName}-sync-path"},
            "AutoPublish": True,
            "FunctionCode": SYNC_PATH_FUNCTION,
            "FunctionConfig": {
                "Comment": "Convex's sync paths -> the WebSocket stage",
                "Runtime": "cloudfront-js-2.0",
            },
        },
    }


#: AWS's managed CloudFront policies: no caching; every viewer header but Host to the origin.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"

ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


#: Both origins are API Gateway's https endpoints.
_ORIGIN = {"CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}}
#: The sync paths' viewer requests pass through the CloudFront Function first.
_SYNC_PATHS = {
    "FunctionAssociations": [
        {
            "EventType": "viewer-request",
            "FunctionARN": {"Fn::GetAtt": ["SyncPathFunction", "FunctionMetadata.FunctionARN"]},
        }
    ]
}


def _behavior(origin: str, **extra: Any) -> dict[str, Any]:
    """Every request to ``origin``, uncached, with every viewer header but Host."""
    return {
        "TargetOriginId": origin,
        "ViewerProtocolPolicy": "https-only",
        "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
        "CachePolicyId": CACHING_DISABLED,
        "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST,
        "Compress": True,
        **extra,
    }


def _origins() -> list[dict[str, Any]]:
    """The HTTP API, with the header that proves a request came through here, and the WebSocket API."""
    return [
        {
            "Id": "http-api",
            "DomainName": {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
            # proves to the auth endpoints that the request came through here (a viewer's
            # header of the same name is overwritten): only then is the entry CloudFront
            # appends to X-Forwarded-For taken as the client's address (ontology.auth.ratelimit)
            "OriginCustomHeaders": [
                {
                    "HeaderName": ORIGIN_VERIFY_HEADER,
                    "HeaderValue": {"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}}}"},
                }
            ],
            **_ORIGIN,
        },
        {
            "Id": "sync-api",
            "DomainName": {"Fn::Sub": "${SyncApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
            **_ORIGIN,
        },
    ]


def _distribution() -> dict[str, Any]:
    """Both APIs on one host: the sync paths to the WebSocket API, everything else to the HTTP API."""
    return {
        "Type": "AWS::CloudFront::Distribution",
        "Properties": {
            "DistributionConfig": {
                "Enabled": True,
                "Comment": {"Fn::Sub": "${AWS::StackName}: the API and the sync protocol on one origin"},
                "HttpVersion": "http2",
                "PriceClass": "PriceClass_100",
                "Origins": _origins(),
                "DefaultCacheBehavior": _behavior("http-api"),
                "CacheBehaviors": [
                    {"PathPattern": "/api/sync", **_behavior("sync-api", **_SYNC_PATHS)},
                    {"PathPattern": "/api/*/sync", **_behavior("sync-api", **_SYNC_PATHS)},
                ],
            }
        },
    }


def edge_resources() -> dict[str, Any]:
    """The CloudFront Function for the sync paths, then the distribution."""
    return {"SyncPathFunction": _sync_path_function(), "Distribution": _distribution()}
