"""Logs and alarms: every function's one log group, the operator's alarm topic, and an alarm on
every queue something gives up into and on every stream mapping that falls behind."""

from __future__ import annotations

import re
from typing import Any

from infra.template.checkov import DLQ_SKIP, LAMBDA_SKIPS, LOG_GROUP_SKIP, RESOURCE_SKIPS, checkov_metadata

#: Where every stream mapping sends what it gives up on (Lambda's invocation record: the function, the
#: condition, the shard and the sequence numbers of the records skipped), watched by an alarm.
STREAM_FAILURES = "StreamFailureQueue"

#: Every function logs to one log group (Lambda's ``LoggingConfig``): CloudWatch names each stream
#: ``YYYY/MM/DD/<function name>[<version>]<id>``, so a function's lines stay apart, while the stack
#: keeps one resource for all of them instead of one per function (CloudFormation allows 500).
FUNCTION_LOGS = "FunctionLogs"


def _function_logs() -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Metadata": checkov_metadata([LOG_GROUP_SKIP]),
        "Properties": {
            "LogGroupName": {"Fn::Sub": "/one/${AWS::StackName}/functions"},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        },
    }


def with_log_groups(resources: dict[str, Any]) -> dict[str, Any]:
    """Send every function's logs to the one log group (the retention parameter's days), and give
    checkov its reasons."""
    out = dict(resources)
    out[FUNCTION_LOGS] = _function_logs()
    for logical_id, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        name = props.get("FunctionName") or {"Fn::Sub": f"${{AWS::StackName}}-{logical_id}"}
        props["FunctionName"] = name
        props["LoggingConfig"] = {"LogGroup": {"Ref": FUNCTION_LOGS}, "LogFormat": "Text"}
        asynchronous = any(e.get("Type") == "Schedule" for e in (props.get("Events") or {}).values())
        if asynchronous:  # EventBridge invokes crons asynchronously: failures land in the DLQ
            props["DeadLetterQueue"] = {
                "Type": "SQS",
                "TargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
            }
        res["Metadata"] = {
            # functions/Makefile: the modules compiled to bytecode for the runtime's Python
            "BuildMethod": "makefile",
            **checkov_metadata(LAMBDA_SKIPS + ([] if asynchronous else [DLQ_SKIP])),
        }
    for logical_id, skips in RESOURCE_SKIPS.items():
        if logical_id in out:
            out[logical_id] = {**out[logical_id], "Metadata": checkov_metadata(skips)}
    return out


#: The operator's notifications: every alarm publishes here (AlarmEmail subscribes an address).
ALARM_TOPIC = "AlarmTopic"


def alarm_resources() -> dict[str, Any]:
    """The stream mappings' failure queue, the alarms' topic and its optional email subscription."""
    return {
        STREAM_FAILURES: {
            "Type": "AWS::SQS::Queue",
            "Properties": {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600},
        },
        ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": {"Fn::Sub": "${AWS::StackName} alarms"}},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": {"Ref": ALARM_TOPIC},
                "Protocol": "email",
                "Endpoint": {"Ref": "AlarmEmail"},
            },
        },
    }


def _target(value: Any) -> str | None:
    """The logical id a ``Fn::GetAtt`` names."""
    return value["Fn::GetAtt"][0] if isinstance(value, dict) and "Fn::GetAtt" in value else None


def dead_letter_queues(resources: dict[str, Any]) -> dict[str, str]:
    """Every queue something gives up into, with what: a queue's redrive target, a function's
    dead-letter queue (crons, invoked asynchronously), a stream mapping's failure destination."""
    found: dict[str, str] = {}
    for logical_id, res in resources.items():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::SQS::Queue" and "RedrivePolicy" in props:
            target = _target(props["RedrivePolicy"]["deadLetterTargetArn"])
            if target:
                found[target] = f"messages {logical_id} received too often without success"
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        target = _target((props.get("DeadLetterQueue") or {}).get("TargetArn"))
        if target and target not in found:
            found[target] = "failed asynchronous invocations"
        for event in (props.get("Events") or {}).values():
            destination = ((event.get("Properties") or {}).get("DestinationConfig") or {}).get("OnFailure")
            target = _target((destination or {}).get("Destination"))
            if target:
                found[target] = "stream records a mapping skipped after its retries or the record age"
    return found


def _kebab(logical_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()


def _alarm(
    name: str,
    description: str,
    metric: tuple[str, str],
    dimension: tuple[str, Any],
    *,
    periods: int,
    threshold: int,
) -> dict[str, Any]:
    """A CloudWatch alarm on a metric's per-minute maximum over ``threshold`` for ``periods`` minutes
    (no data: not breaching), notifying :data:`ALARM_TOPIC`."""
    namespace, metric_name = metric
    dimension_name, value = dimension
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": "${AWS::StackName}-" + name},
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric_name,
            "Dimensions": [{"Name": dimension_name, "Value": value}],
            "Statistic": "Maximum",
            "Period": 60,
            "EvaluationPeriods": periods,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
        },
    }


def _queue_alarm(queue: str, what: str) -> dict[str, Any]:
    """Any message visible in a queue something gives up into."""
    return _alarm(
        _kebab(queue),
        f"{queue} has messages: {what}. Read them, fix the cause, redrive.",
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("QueueName", {"Fn::GetAtt": [queue, "QueueName"]}),
        periods=1,
        threshold=0,
    )


def _iterator_age_alarm(logical_id: str) -> dict[str, Any]:
    """A stream mapping's oldest record over a minute old for five minutes."""
    return _alarm(
        _kebab(logical_id.removesuffix("Function")) + "-iterator-age",
        (
            f"{logical_id} is more than a minute behind the table's stream: a batch is "
            "retrying (its logs say why) or the writes outpace it."
        ),
        ("AWS/Lambda", "IteratorAge"),
        ("FunctionName", {"Ref": logical_id}),
        periods=5,
        threshold=60000,
    )


def with_alarms(resources: dict[str, Any]) -> dict[str, Any]:
    """An alarm on every dead-letter queue and failure destination (a message there is a failure the
    platform gave up on), and on every stream mapping that falls behind (its oldest record over a
    minute old for five minutes: a batch retrying, or more writes than it keeps up with), each
    notifying :data:`ALARM_TOPIC`."""
    out = dict(resources)
    for queue, what in sorted(dead_letter_queues(resources).items()):
        alarm = _queue_alarm(queue, what)
        if "Condition" in resources.get(queue, {}):  # a queue that exists only under a condition
            alarm = {"Condition": resources[queue]["Condition"], **alarm}
        out[f"{queue}Alarm"] = alarm
    for logical_id, res in resources.items():
        events = (res.get("Properties") or {}).get("Events") or {}
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        if any(e.get("Type") == "DynamoDB" for e in events.values()):
            out[logical_id.removesuffix("Function") + "IteratorAgeAlarm"] = _iterator_age_alarm(logical_id)
    return out
