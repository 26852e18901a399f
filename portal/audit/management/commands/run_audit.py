"""manage.py run_audit [--environment NAME]: a live audit now, in this process, with its counts printed."""

from django.core.management.base import BaseCommand, CommandError

from portal.audit.choices import AuditRunStatus, AuditTrigger
from portal.audit.models import AuditError, create_audit_run
from portal.audit.tasks import run_live_audit
from portal.environments.models import Environment


class Command(BaseCommand):
    help = "Audit the account (or one environment) now, without a worker, and print what changed."

    def add_arguments(self, parser):
        parser.add_argument("--environment", help="Audit only this environment's resources.")

    def handle(self, environment=None, **options):
        scope = None
        if environment:
            scope = Environment.objects.named(environment).first()
            if scope is None:
                raise CommandError(f"There is no environment called {environment!r}.")
        try:
            run = create_audit_run(scope, AuditTrigger.ON_DEMAND)
        except AuditError as error:
            raise CommandError(str(error)) from error
        run_live_audit(run.pk)
        run.refresh_from_db()
        if run.status != AuditRunStatus.SUCCEEDED:
            raise CommandError(f"Audit #{run.pk} failed: {run.error}")
        self.stdout.write(
            f"Audit #{run.pk} of {run.scope_label}: {run.resources_audited} resources, {run.findings_seen} findings "
            f"({run.new_findings} new, {run.reopened_findings} back again, {run.resolved_findings} resolved)."
        )
        for warning in run.warnings:
            self.stderr.write(
                f"Not read: {warning['kind']} {warning['resource'] or warning['region']}: {warning['error']}"
            )
