from django import forms


class ReviewForm(forms.Form):
    """An approver's decision on a plan; the comment is kept on the run and in its log."""

    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: why you approve or reject. Kept with the run.",
    )
