"""The emulator's SQS behaves as AWS documents where the queues module depends on it."""

from __future__ import annotations

import json

from provisioning.aws import client


def test_redrive_policy_comes_back_as_compact_json(emulator):
    sqs = client("sqs")
    dead_letter_url = sqs.create_queue(QueueName="compact-redrive-dlq")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sent = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 5}, separators=(",", ":"))
    queue_url = sqs.create_queue(QueueName="compact-redrive", Attributes={"RedrivePolicy": sent})["QueueUrl"]

    returned = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]

    assert returned["RedrivePolicy"] == sent
