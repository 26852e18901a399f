"""SQS fidelity patches: queue attributes serialised as SQS returns them."""

from __future__ import annotations

import json
from typing import Any

from moto.sqs.models import Queue

from provisioning.emulator.patches import fidelity_patch


@fidelity_patch
def compact_redrive_policy() -> None:
    """GetQueueAttributes returns RedrivePolicy as compact JSON: {"deadLetterTargetArn":"…","maxReceiveCount":5}.

    moto re-serialises the policy with json.dumps' default separators (", " and ": "), so the string differs
    from what Terraform's jsonencode sent and hashicorp/aws 3.39 plans an in-place change on every run.
    """
    original_attributes = Queue.attributes.fget

    def attributes(self: Queue) -> dict[str, Any]:
        result = original_attributes(self)
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    Queue.attributes = property(attributes)
