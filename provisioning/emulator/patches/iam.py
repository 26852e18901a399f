"""IAM policy evaluation fidelity patches (moto evaluates bucket policies with this code too)."""

from __future__ import annotations

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

from provisioning.emulator.patches import fidelity_patch


@fidelity_patch
def statement_whose_condition_does_not_hold_does_not_apply() -> None:
    """A policy statement whose Condition is not met does not apply: it neither allows nor denies.

    AWS's evaluation logic matches a statement only when its action, resource, principal and conditions
    all match. moto answers DENIED for any statement whose conditions fail, so a bucket policy's usual
    "Deny when aws:SecureTransport is false" denied every request, TLS or not, and Terraform could not
    read its own state from a bucket created by the state_backend module.
    """
    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        if self._statement.get("Condition") and not self._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted


@fidelity_patch
def bucket_policies_see_requests_as_tls() -> None:
    """A request that reached S3 over TLS carries aws:SecureTransport = true in its policy context.

    Every AWS SDK, Terraform's provider included, talks to S3 over HTTPS; the emulator is the loopback
    stand-in for those HTTPS endpoints. moto evaluates bucket policies with no request context at all, so
    the usual "Deny when aws:SecureTransport is false" of our state and audio buckets matched every request.
    """
    from moto.iam.access_control import IAMPolicy
    from moto.s3.models import FakeBucket

    def get_permission(self, action: str, resource: str):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        return IAMPolicy(self.policy.decode()).is_action_permitted(
            action, resource, incoming_condition_values={"aws:SecureTransport": "true"}
        )

    FakeBucket.get_permission = get_permission


@fidelity_patch
def bool_condition_operator() -> None:
    """The Bool condition operator matches when the request's value equals the policy's true/false.

    moto knows only StringEquals and treats any other operator as always met, so a statement guarded by
    {"Bool": {"aws:SecureTransport": "false"}} applied to every request.
    """
    from moto.iam import policy_conditions

    def bool_equals(expected, actual: str) -> bool:
        values = expected if isinstance(expected, list) else [expected]
        return str(actual).lower() in {str(value).lower() for value in values}

    policy_conditions.CONDITION_OPERATIONS["Bool"] = bool_equals
