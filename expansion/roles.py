"""Role groups and their model permissions (admin access); page and API access follow the role too."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

#: app_label -> permission actions per role. "view" is read-only; Finance never gets more.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "AE": {"expansion": ("view",)},
    "CSM": {"expansion": ("view",)},
    "Manager": {"expansion": ("view",), "scoring": ("view",), "routing": ("view",)},
    "RevOps": {
        "expansion": ("view", "add", "change"),
        "scoring": ("view", "add", "change", "delete"),
        "routing": ("view", "add", "change", "delete"),
        "crm": ("view", "add", "change", "delete"),
        "dashboards": ("view", "add", "change"),
        "django_celery_beat": ("view", "add", "change", "delete"),
        "axes": ("view", "delete"),  # sign-in lockouts: deleting an access attempt unlocks
    },
    "Finance": {
        "expansion": ("view",),
        "scoring": ("view",),
        "routing": ("view",),
        "crm": ("view",),
        "dashboards": ("view",),
    },
}


def ensure_role_groups(**_kwargs) -> None:
    """Create one group per role with its permissions (idempotent; runs after every migrate)."""
    for role, apps in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for app_label, actions in apps.items():
            perms = Permission.objects.filter(content_type__app_label=app_label)
            wanted += [p for p in perms if p.codename.split("_", 1)[0] in actions]
        group.permissions.set(wanted)


#: Roles whose accounts only a superuser may create, grant or change: RevOps holds admin, Finance audits
#: RevOps' work; if RevOps could make either (or a superuser), the separation between them would be gone.
PRIVILEGED_ROLES: tuple[str, ...] = ("RevOps", "Finance")


def may_manage_privileged(actor) -> bool:
    """Whether ``actor`` may grant superuser, staff, groups, permissions or a privileged role."""
    return bool(actor is not None and actor.is_superuser)


def is_privileged_account(user) -> bool:
    """A superuser's, RevOps' or Finance's account: only a superuser may change it."""
    return bool(user.is_superuser or user.role in PRIVILEGED_ROLES)
