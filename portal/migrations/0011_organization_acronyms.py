"""An organization's acronym in each language: the PrepCom export's acronym is the French one
(as its format says), so the existing column becomes ``acronym_fr`` beside new English and
Arabic ones."""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.rename_column("organization", "acronym", "acronym_fr"),
        migrator.add_column("organization", "acronym_en", CharField(max_length=32, default="")),
        migrator.add_column("organization", "acronym_ar", CharField(max_length=32, default="")),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("organization", "acronym_ar"),
        migrator.drop_column("organization", "acronym_en"),
        migrator.rename_column("organization", "acronym_fr", "acronym"),
    )
