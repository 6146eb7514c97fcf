"""`unparl build` on a real Postgres instance configured by docs/production/dagster.postgres.yaml
gives the same release as on the embedded SQLite instance."""
from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import CHECK_RELEASE, unparl_build

pytestmark = pytest.mark.production


def test_build_on_postgres_gives_the_release_a_build_on_sqlite_gives(postgres, pg_instance, sqlite_build):
    built = unparl_build(pg_instance)
    assert f"Dagster instance: {pg_instance.home}" in built.stdout

    on_postgres, on_sqlite = pg_instance.manifest(), sqlite_build.manifest()
    assert on_postgres["content_hash"] == on_sqlite["content_hash"]
    assert on_postgres["tables"] == on_sqlite["tables"]
    assert sorted(i["doc_id"] for i in on_postgres["inputs"]) == sorted(i["doc_id"] for i in on_sqlite["inputs"])
    checked = subprocess.run([sys.executable, str(CHECK_RELEASE), str(pg_instance.data)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The runs, their events and the documents' partitions are in Postgres, not in files.
    assert not list(pg_instance.home.rglob("*.db")), "the Postgres instance wrote SQLite files"
    connection = postgres.connect(pg_instance.database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT status, count(*) FROM runs GROUP BY status")
            statuses = dict(cursor.fetchall())
            cursor.execute("SELECT partition FROM dynamic_partitions WHERE partitions_def_name = 'documents'")
            partitions = {row[0] for row in cursor.fetchall()}
            cursor.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
            (materializations,) = cursor.fetchone()
    finally:
        connection.close()
    assert set(statuses) == {"SUCCESS"} and statuses["SUCCESS"] >= 2, statuses
    assert partitions == {i["doc_id"] for i in on_postgres["inputs"]}
    # Three stages for each of the two documents, then the five corpus assets.
    assert materializations >= 3 * 2 + 5

    # A second build on the same instance finds nothing changed and cuts no release.
    again = unparl_build(pg_instance)
    assert "processed: 0" in again.stdout, again.stdout
    assert pg_instance.latest == on_postgres["version"]
