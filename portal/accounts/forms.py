from django import forms

from portal.accounts.models import MAX_LIFETIME_DAYS, TokenScope


class NewTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What the token is for, such as ci-pipeline or laptop: you will see it in the list.",
    )
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.FULL,
        required=False,  # left out: full access, as in the API
        label="Scope",
        help_text="Read-only tokens may only read (GET); full access does everything you may do.",
    )
    expires_in_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_LIFETIME_DAYS,
        required=False,
        label="Expires in (days)",
        widget=forms.NumberInput(attrs={"placeholder": "never"}),
        help_text=f"1 to {MAX_LIFETIME_DAYS} days; empty: the token does not expire.",
    )
    password = forms.CharField(
        max_length=4096,
        strip=False,
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Asked again: a signed-in browser alone cannot make keys.",
    )

    def clean_scope(self) -> str:
        return self.cleaned_data["scope"] or TokenScope.FULL
