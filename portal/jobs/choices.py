from django.db import models


class EventStream(models.TextChoices):
    STDOUT = "stdout", "Terraform output"
    STDERR = "stderr", "Terraform errors"
    LAUNCHPAD = "launchpad", "Launchpad"
