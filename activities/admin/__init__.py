"""Back office for activities (SPEC 7): read, cancel, retry resolution, force retry, dispatch now; manage the
activity configuration. Status is never edited by hand: the buttons at the top of the activity page (each with a
confirmation page, Cancel with a reason) and the bulk actions call the same services as the API, with the
permissions of SPEC 2 in the activity's tenant.

One module per noun; importing the admins here registers them when Django loads the app's admin:
  display.py        the status badge, the activity's label and links, the `activity` column of its children
  read_only.py      the read-only bases of inlines and lists
  inlines.py        the inlines of the activity page (with the repair links of target users and attributes)
  actions.py        what the page's buttons and the bulk actions run, and the forms of their pages
  activity.py       ActivityAdmin: the list, the page, its transitions, bulk actions and repair pages
  children.py       the lists of status events, target users, attributes, commerce assignments, task details
  configuration.py  target resolution configs, attribute keys and policies, user retention statuses
  results.py        task results and task result types
"""
from activities.admin.activity import ActivityAdmin
from activities.admin.children import (
    ActivityAttributeAdmin,
    CommerceAssignmentAdmin,
    StatusEventAdmin,
    TargetUserAdmin,
    TaskDetailsAdmin,
)
from activities.admin.configuration import (
    AttributeKeyAdmin,
    AttributePolicyAdmin,
    TargetResolutionConfigAdmin,
    UserRetentionStatusAdmin,
)
from activities.admin.results import TaskResultAdmin, TaskResultTypeAdmin

__all__ = [
    "ActivityAdmin",
    "ActivityAttributeAdmin",
    "AttributeKeyAdmin",
    "AttributePolicyAdmin",
    "CommerceAssignmentAdmin",
    "StatusEventAdmin",
    "TargetResolutionConfigAdmin",
    "TargetUserAdmin",
    "TaskDetailsAdmin",
    "TaskResultAdmin",
    "TaskResultTypeAdmin",
    "UserRetentionStatusAdmin",
]
