"""How the console shows an activity wherever it appears: the coloured status badge, the `<commerce> · <short id>`
label, links to its page, and the `activity` column of its children's lists."""
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from unfold.utils import display_for_label

from activities.models import ActivityStatus
from tenants.console import short_label

# Badge colours of each status (unfold's labels: the 700 shade on its 100 tint, 4.5:1 to 6:1 by Tailwind's
# palette); the status name is always written out, so colour is never the only signal.
STATUS_BADGES = {
    ActivityStatus.UNRESOLVED: "warning",
    ActivityStatus.READY: "info",
    ActivityStatus.DISPATCHED: "primary",
    ActivityStatus.COMPLETED: "success",
    ActivityStatus.FAILED: "danger",
    ActivityStatus.CANCELED: "default",
}
for _status in ActivityStatus.values:
    STATUS_BADGES.setdefault(_status, "default")


def activity_label(activity):
    """`<commerce name> · <short id>`: how a row names an activity instead of a bare UUID."""
    assignment = getattr(activity, "commerce_assignment", None)
    name = assignment.commerce.name if assignment is not None else activity.get_type_display()
    return short_label(name, activity.pk)


def status_badge_html(status):
    """The coloured badge of an activity status (unfold's label), the same on the list and the page."""
    return display_for_label(status, "-", STATUS_BADGES)


def admin_link(url, text):
    """A link of the console, styled as one (text escaped)."""
    return format_html('<a class="text-primary-600 underline" href="{}">{}</a>', url, text)


def activity_link(activity):
    if activity is None:
        return "-"
    return admin_link(reverse("admin:activities_activity_change", args=[activity.pk]),
                      activity_label(activity))


class LinksToActivity:
    """List rows of an activity's children name it by commerce and short id, linked to its page."""

    @admin.display(description="activity")
    def activity_column(self, row):
        return activity_link(row.activity)
