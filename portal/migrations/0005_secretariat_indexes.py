"""Indexes for the secretariat's screens: each delegation's figures read from one index (the
overview with 5,000 organizations), and duplicates across delegations found by date of birth."""


def up(migrator, db):
    migrator.migrate(
        migrator.add_index(
            "participant",
            ("organization_id", "status", "is_head", "updated_at"),
            name="participant_organization_figures",
        ),
        migrator.add_index("participant", ("date_of_birth",), name="participant_date_of_birth"),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("participant", "participant_date_of_birth"),
        migrator.drop_index("participant", "participant_organization_figures"),
    )
