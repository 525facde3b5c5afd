"""Charts in templates (results/charts.py): ``{% assignment_charts assignment %}``,
``{% activity_charts %}`` and ``{% release_progress %}``. Tags, so that the pages' views stay as
they are: each chart is drawn where the template asks for it, inside the page's own cache rules."""

from django import template

from results import charts

register = template.Library()


@register.inclusion_tag("results/_charts.html")
def assignment_charts(assignment):
    return {"charts": charts.assignment_charts(assignment), "heading": "Progress over time"}


@register.inclusion_tag("results/_charts.html")
def activity_charts():
    return {"charts": charts.recent_activity_charts(), "heading": "Reviews over time"}


@register.inclusion_tag("results/_release_progress.html")
def release_progress():
    return {"release": charts.release_progress()}
