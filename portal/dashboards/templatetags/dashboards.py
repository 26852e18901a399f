"""Words for the dashboards' templates."""

from django import template
from django.utils.html import format_html

register = template.Library()

_ROLLOUT = {
    "COMPLETED": "Deployment completed",
    "IN_PROGRESS": "Deployment in progress",
    "FAILED": "Deployment failed",
}


@register.filter
def rollout(state: str) -> str:
    """An ECS rollout state (COMPLETED, IN_PROGRESS, FAILED) in words."""
    return _ROLLOUT.get(state, "No deployment")


_LEVEL_WORDS = {"healthy": "Healthy", "degraded": "Degraded", "down": "Down"}


@register.simple_tag
def health_badge(health, environment) -> str:
    """A health badge: Healthy / Degraded / Down, or the lifecycle status of an environment not ready to read."""
    words = _LEVEL_WORDS.get(health.level) or environment.get_status_display()
    return format_html(
        '<span class="health health-{}" data-health="{}" title="{}">{}</span>',
        health.level,
        health.level,
        health.reason,
        words,
    )
