"""Create the four role groups with their permissions, and make the audit log append-only.

The trigger refuses UPDATE and DELETE on the audit table in the database
itself, so not even the admin, a shell or a bug in a service can rewrite history.
TRUNCATE stays possible for the table owner (the test runner flushes with it);
in production the app connects as a role that is not the owner (README).
"""

from django.db import migrations

PG_TRIGGER = """
CREATE OR REPLACE FUNCTION hydra_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER investigations_auditentry_append_only
    BEFORE UPDATE OR DELETE ON investigations_auditentry
    FOR EACH ROW EXECUTE FUNCTION hydra_audit_append_only();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS investigations_auditentry_append_only ON investigations_auditentry;
DROP FUNCTION IF EXISTS hydra_audit_append_only();
"""
SQLITE_TRIGGERS = [
    """CREATE TRIGGER investigations_auditentry_no_update BEFORE UPDATE ON investigations_auditentry
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;""",
    """CREATE TRIGGER investigations_auditentry_no_delete BEFORE DELETE ON investigations_auditentry
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;""",
]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_TRIGGER)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_TRIGGERS:
            schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS investigations_auditentry_no_update")
        schema_editor.execute("DROP TRIGGER IF EXISTS investigations_auditentry_no_delete")


def create_role_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from investigations.roles import ROLE_PERMISSIONS

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in perms:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def delete_role_groups(apps, schema_editor):
    from investigations.roles import ROLE_PERMISSIONS

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("investigations", "0001_initial"),
        ("accounts", "0001_initial"),
        ("ingest", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(create_role_groups, delete_role_groups),
    ]
