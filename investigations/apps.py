from django.apps import AppConfig


class InvestigationsConfig(AppConfig):
    """Alerts, cases, notes, the audit log; detection and sharing live in sub-packages."""

    name = "investigations"

    def ready(self) -> None:
        # Login successes and failures are written to the audit log.
        from investigations import auth_audit  # noqa: F401
