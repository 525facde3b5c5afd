"""Charts in templates (results/charts.py): ``{% assignment_charts assignment %}``,
``{% activity_charts %}`` and ``{% release_progress %}``. Tags, so that the pages' views stay as
they are: each chart is drawn where the template asks for it, inside the page's own cache rules."""

import time

from django import template

from pagecache import fragments
from pagecache import generations as g
from results import charts

register = template.Library()


# What an assignment's charts show: its scope and threshold (assignments, catalogue) and its
# reviews (counts). The assignment page itself is never cached (the reader's own progress); its
# charts, the same for everyone and the page's costly part, are cached like a page would be.
_ASSIGNMENT_CHART_GENERATIONS = (g.CATALOGUE, g.ASSIGNMENTS, g.COUNTS)


@register.inclusion_tag("results/_charts.html")
def assignment_charts(assignment):
    hour = int(time.time() // 3600)  # the charts end at the current hour: a new hour, a new entry
    drawn = fragments.cached(
        f"assignment-charts:{assignment.pk}:{hour}",
        _ASSIGNMENT_CHART_GENERATIONS,
        lambda: charts.assignment_charts(assignment),
    )
    return {"charts": drawn, "heading": "Progress over time"}


@register.inclusion_tag("results/_charts.html")
def activity_charts():
    return {"charts": charts.recent_activity_charts(), "heading": "Reviews over time"}


@register.inclusion_tag("results/_release_progress.html")
def release_progress():
    return {"release": charts.release_progress()}
