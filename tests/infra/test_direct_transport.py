"""The local stack's in-process transport: its handlers' AWS calls reach moto's app without a socket,
and a call bound for AWS itself is refused, never sent."""

from __future__ import annotations

import boto3
import pytest

from infra.local.aws import REFUSED, install_direct_transport
from infra.local.serving import free_port


def test_calls_reach_the_app_in_process_and_aws_itself_is_refused() -> None:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    undo = install_direct_transport(endpoint, server._server.app)  # type: ignore[union-attr]
    try:
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        server.stop()  # no socket any more: the calls are served in process all the same
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "v": {"S": "x" * 100}})
        assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["v"]["S"] == "x" * 100
        vectors = boto3.client("s3vectors", region_name="us-east-1")  # AWS's own endpoint
        before = len(REFUSED)
        with pytest.raises(RuntimeError, match="never calls AWS"):
            vectors.list_vector_buckets()
        assert len(REFUSED) == before + 1 and "api.aws" in REFUSED[-1]
    finally:
        undo()
