"""The read-only bases: inlines of an activity's page and the lists of records written only by services."""
from tenants.console import ConsoleModelAdmin, ConsoleTabularInline
from tenants.roles import Permission


class ReadOnlyInline(ConsoleTabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ConsoleModelAdmin):
    console_view = Permission.VIEW_ACTIVITIES
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
