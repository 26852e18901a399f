from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "portal.runs"
    label = "runs"
    verbose_name = "Runs and their events"

    def ready(self) -> None:
        # Connects run_lost to job_lost in every process, a web one included (a claim or the reaper may fail a run).
        from portal.runs import tasks  # noqa: F401
