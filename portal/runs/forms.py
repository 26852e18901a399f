from django import forms

from portal.runs.models import REJECTION_NEEDS_REASON


class ReviewForm(forms.Form):
    """An approver's approval of a plan; the comment is kept on the run and in its log."""

    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: why you approve. Kept with the run.",
    )


class RejectForm(forms.Form):
    """An approver's rejection of a plan: the reason is required, kept on the run and sent to its owner."""

    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What is wrong with the plan: kept with the run, in the activity log and sent to its owner.",
        error_messages={"required": REJECTION_NEEDS_REASON},
    )
