"""moto's item answers written straight as JSON (infra.local.moto_patches): what botocore reads back is
what moto's own model-driven writing gives, binary values and errors included."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def ddb(aws: None) -> Any:
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="answers",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def test_items_of_every_type_come_back_as_written(ddb: Any) -> None:
    item = {
        "pk": {"S": "a"},
        "n": {"N": "12345678901234567890"},
        "s": {"S": 'naïve ☃ \u0000 "quoted"'},
        "b": {"B": b"\x00\xffbytes"},
        "m": {"M": {"l": {"L": [{"N": "1"}, {"BOOL": True}, {"NULL": True}]}, "ss": {"SS": ["x", "y"]}}},
    }
    ddb.put_item(TableName="answers", Item=item)
    got = ddb.get_item(TableName="answers", Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]
    assert got["b"] == {"B": b"\x00\xffbytes"}  # binary: moto's own writing, base64 on the wire
    assert {k: v for k, v in got.items() if k != "m"} == {k: v for k, v in item.items() if k != "m"}
    assert got["m"]["M"]["l"] == item["m"]["M"]["l"] and sorted(got["m"]["M"]["ss"]["SS"]) == ["x", "y"]
    page = ddb.query(
        TableName="answers",
        KeyConditionExpression="pk = :a",
        ExpressionAttributeValues={":a": {"S": "a"}},
        ProjectionExpression="pk, n",
    )
    assert page["Items"] == [{"pk": {"S": "a"}, "n": {"N": "12345678901234567890"}}] and page["Count"] == 1


def test_answers_carry_only_what_the_output_shape_names(ddb: Any) -> None:
    ddb.put_item(TableName="answers", Item={"pk": {"S": "gone"}})
    done = ddb.delete_item(
        TableName="answers", Key={"pk": {"S": "gone"}}, ReturnConsumedCapacity="TOTAL", ReturnValues="ALL_OLD"
    )
    assert done["Attributes"] == {"pk": {"S": "gone"}}
    assert "ConsumedCapacityUnits" not in done and done["ConsumedCapacity"]["TableName"] == "answers"


def test_a_refused_write_is_still_dynamodb_s_error(ddb: Any) -> None:
    ddb.put_item(TableName="answers", Item={"pk": {"S": "taken"}})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as refused:
        ddb.put_item(
            TableName="answers",
            Item={"pk": {"S": "taken"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert refused.value.response["Item"] == {"pk": {"S": "taken"}}
