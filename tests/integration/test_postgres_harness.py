"""The integration suite really has a PostgreSQL server of its own."""

from urllib.parse import urlsplit

import pg8000.native


def test_each_test_gets_an_empty_database_on_a_real_server(postgres_dsn: str) -> None:
    # Given a DSN from the fixture
    parts = urlsplit(postgres_dsn)
    conn = pg8000.native.Connection(
        user=parts.username, host=parts.hostname, port=parts.port, database=parts.path.lstrip("/")
    )
    try:
        # When we ask the server what it is and what it holds
        version = conn.run("SHOW server_version_num")[0][0]
        tables = conn.run("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0]
    finally:
        conn.close()
    # Then it is a real server with an empty schema
    assert int(version) >= 120000
    assert tables == 0
