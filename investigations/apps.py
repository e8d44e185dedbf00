from django.apps import AppConfig
from django.db.models.signals import post_migrate


class InvestigationsConfig(AppConfig):
    """Alerts, cases, notes, the audit log; detection and sharing live in sub-packages."""

    name = "investigations"

    def ready(self) -> None:
        # Login successes and failures are written to the audit log.
        from investigations import auth_audit  # noqa: F401
        from investigations.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, sender=self, dispatch_uid="investigations.sync_role_groups")
