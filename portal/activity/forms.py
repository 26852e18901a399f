from django import forms

from portal.activity.models import ActivityEntry


class ActivityFilterForm(forms.Form):
    """The activity page's filters (GET); the choices are what the log holds."""

    action = forms.ChoiceField(required=False)
    actor = forms.CharField(required=False, help_text="Username, or launchpad for the system")
    object_type = forms.ChoiceField(required=False, label="Object")
    search = forms.CharField(required=False, help_text="Part of the object's name")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        events = ActivityEntry.objects.order_by()
        actions = events.values_list("action", flat=True).distinct().order_by("action")
        types = events.values_list("object_type", flat=True).distinct().order_by("object_type")
        self.fields["action"].choices = [("", "Any action")] + [(action, action) for action in actions]
        self.fields["object_type"].choices = [("", "Any object")] + [(kind, kind) for kind in types]

    def filter(self, queryset):
        if not self.is_valid():
            return queryset.none()
        data = self.cleaned_data
        if data["action"]:
            queryset = queryset.filter(action=data["action"])
        if data["actor"]:
            queryset = queryset.filter(actor_name=data["actor"].strip())
        if data["object_type"]:
            queryset = queryset.filter(object_type=data["object_type"])
        if data["search"]:
            queryset = queryset.filter(object_repr__icontains=data["search"].strip())
        return queryset
