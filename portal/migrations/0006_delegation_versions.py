"""A version number per delegation, raised by the database itself whenever one of its
participants or their photos changes: the key of the pages' fragment cache
(portal/performance/cache.py).

Triggers rather than application code, so that no write path can forget it (the secretariat's
decisions, imports, the command line, a repair by hand): the version moves in the same
transaction as the change. Writers already lock the organization's row first
(``participants.lock_organization``), so the trigger's update of that row adds no new lock order.
"""

from peewee import BigIntegerField

from portal.db import is_sqlite

SQLITE = [
    # SQLite runs a trigger once per row, inside the statement's transaction.
    """CREATE TRIGGER participant_insert_version AFTER INSERT ON participant BEGIN
         UPDATE organization SET data_version = data_version + 1 WHERE id = NEW.organization_id;
       END""",
    """CREATE TRIGGER participant_update_version AFTER UPDATE ON participant BEGIN
         UPDATE organization SET data_version = data_version + 1
           WHERE id IN (OLD.organization_id, NEW.organization_id);
       END""",
    """CREATE TRIGGER participant_delete_version AFTER DELETE ON participant BEGIN
         UPDATE organization SET data_version = data_version + 1 WHERE id = OLD.organization_id;
       END""",
    """CREATE TRIGGER photo_insert_version AFTER INSERT ON photo BEGIN
         UPDATE organization SET data_version = data_version + 1
           WHERE id = (SELECT organization_id FROM participant WHERE id = NEW.participant_id);
       END""",
    """CREATE TRIGGER photo_update_version AFTER UPDATE ON photo BEGIN
         UPDATE organization SET data_version = data_version + 1
           WHERE id IN (SELECT organization_id FROM participant
                        WHERE id IN (OLD.participant_id, NEW.participant_id));
       END""",
    """CREATE TRIGGER photo_delete_version AFTER DELETE ON photo BEGIN
         UPDATE organization SET data_version = data_version + 1
           WHERE id = (SELECT organization_id FROM participant WHERE id = OLD.participant_id);
       END""",
]

POSTGRESQL = [
    """CREATE FUNCTION participant_version() RETURNS trigger AS $$
       BEGIN
         IF TG_OP IN ('UPDATE', 'DELETE') THEN
           UPDATE organization SET data_version = data_version + 1 WHERE id = OLD.organization_id;
         END IF;
         IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE'
                                 AND NEW.organization_id IS DISTINCT FROM OLD.organization_id) THEN
           UPDATE organization SET data_version = data_version + 1 WHERE id = NEW.organization_id;
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER participant_version AFTER INSERT OR UPDATE OR DELETE ON participant
       FOR EACH ROW EXECUTE FUNCTION participant_version()""",
    """CREATE FUNCTION photo_version() RETURNS trigger AS $$
       BEGIN
         IF TG_OP IN ('UPDATE', 'DELETE') THEN
           UPDATE organization SET data_version = data_version + 1
             WHERE id = (SELECT organization_id FROM participant WHERE id = OLD.participant_id);
         END IF;
         IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE'
                                 AND NEW.participant_id IS DISTINCT FROM OLD.participant_id) THEN
           UPDATE organization SET data_version = data_version + 1
             WHERE id = (SELECT organization_id FROM participant WHERE id = NEW.participant_id);
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER photo_version AFTER INSERT OR UPDATE OR DELETE ON photo
       FOR EACH ROW EXECUTE FUNCTION photo_version()""",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS %s_%s_version" % (table, op)
    for table in ("participant", "photo")
    for op in ("insert", "update", "delete")
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER IF EXISTS photo_version ON photo",
    "DROP FUNCTION IF EXISTS photo_version()",
    "DROP TRIGGER IF EXISTS participant_version ON participant",
    "DROP FUNCTION IF EXISTS participant_version()",
]


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("organization", "data_version", BigIntegerField(default=0))
    )
    for statement in SQLITE if is_sqlite(db) else POSTGRESQL:
        db.execute_sql(statement)


def down(migrator, db):
    for statement in SQLITE_DOWN if is_sqlite(db) else POSTGRESQL_DOWN:
        db.execute_sql(statement)
    migrator.migrate(migrator.drop_column("organization", "data_version"))
