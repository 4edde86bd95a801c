"""`{% project_tracking project %}`: the project page's experiments section. A tag, so the projects app needs no
import of this one (projects build on accounts only)."""

from django import template

from tracking.selectors import project_tracking as tracking_for

register = template.Library()


@register.inclusion_tag("tracking/project_tracking.html")
def project_tracking(project):
    return {"tracking": tracking_for(project=project), "project": project}
