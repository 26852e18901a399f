from django import forms


class NewTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What the token is for, such as ci-pipeline or laptop: you will see it in the list.",
    )
