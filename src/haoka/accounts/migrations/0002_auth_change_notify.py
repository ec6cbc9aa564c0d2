"""On PostgreSQL: NOTIFY haoka_auth when a token or a user is updated or deleted (or the
tables truncated), so every process's token cache forgets it at the commit
(haoka.accounts.tokencache). Nothing on SQLite, which has no cache."""

from django.db import migrations

FORWARD = [
    """
CREATE OR REPLACE FUNCTION haoka_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('haoka_auth', '*');
    ELSIF TG_TABLE_NAME = 'accounts_authtoken' THEN
        PERFORM pg_notify('haoka_auth', 'token:' || OLD.token_hash);
    ELSE
        PERFORM pg_notify('haoka_auth', 'user:' || OLD.id);
    END IF;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER accounts_authtoken_changed AFTER UPDATE OR DELETE ON accounts_authtoken "
    "FOR EACH ROW EXECUTE FUNCTION haoka_auth_changed()",
    "CREATE TRIGGER accounts_user_changed AFTER UPDATE OR DELETE ON accounts_user "
    "FOR EACH ROW EXECUTE FUNCTION haoka_auth_changed()",
    "CREATE TRIGGER accounts_authtoken_truncated AFTER TRUNCATE ON accounts_authtoken "
    "FOR EACH STATEMENT EXECUTE FUNCTION haoka_auth_changed()",
    "CREATE TRIGGER accounts_user_truncated AFTER TRUNCATE ON accounts_user "
    "FOR EACH STATEMENT EXECUTE FUNCTION haoka_auth_changed()",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS accounts_authtoken_changed ON accounts_authtoken",
    "DROP TRIGGER IF EXISTS accounts_user_changed ON accounts_user",
    "DROP TRIGGER IF EXISTS accounts_authtoken_truncated ON accounts_authtoken",
    "DROP TRIGGER IF EXISTS accounts_user_truncated ON accounts_user",
    "DROP FUNCTION IF EXISTS haoka_auth_changed()",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
