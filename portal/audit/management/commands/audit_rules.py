"""manage.py audit_rules: print the audit's rules as the Markdown table of docs/audit-rules.md."""

from django.core.management.base import BaseCommand

from provisioning.audit.rules import markdown_table


class Command(BaseCommand):
    help = "Print every audit rule (id, severity, resource, title, rationale, remediation) as a Markdown table."

    def handle(self, **options):
        self.stdout.write(markdown_table(), ending="")
