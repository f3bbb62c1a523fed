#!/usr/bin/env bash
# Makes history-v6.pgdb: a history as pgstore wrote it at schema version 6
# (migrations 0001-0006, the landed schema of 2026-12-03), for the upgrade
# tests. The runs are recorded by the pgstore given, then every table of
# version 6 is copied, row for row, into a file made by migrations 0001-0006
# alone: the tables a version-6 recorder wrote hold exactly these rows.
# Usage: Tests/Fixtures/make-history-v6.sh PGSTORE OUT.pgdb
set -euo pipefail
cd "$(dirname "$0")/../.."
pgstore=$1
out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src="$work/src.pgdb"
"$pgstore" record --db "$src" --strategy eager,deferred --generate churn:ops=120,seed=7 >/dev/null
"$pgstore" record --db "$src" --strategy deferred docs/examples/findings.pgs >/dev/null
"$pgstore" restore --db "$src" 1:latest --into "$src" >/dev/null
printf 'iommu_map 0x40000000 0x90000000 0x2000 rw\nsnapshot later\n' > "$work/more.pgs"
"$pgstore" record --db "$src" --continue 4 "$work/more.pgs" >/dev/null
sqlite3 "$src" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null

rm -f "$out"
{
    echo "PRAGMA application_id = 1885827956;"
    echo "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);"
    for m in migrations/000[1-6]_*.sql; do
        cat "$m"
        echo ";"
        echo "INSERT INTO grdb_migrations VALUES ('$(basename "$m" .sql)');"
    done
} | sqlite3 "$out"
tables=$(sqlite3 "$out" "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('grdb_migrations', 'sqlite_sequence')")
for t in $tables; do
    # Tables the migrations fill (kinds, line offsets) already hold their rows.
    if [ "$(sqlite3 "$out" "SELECT count(*) FROM $t")" = "0" ]; then
        sqlite3 "$out" "ATTACH '$src' AS src; INSERT INTO main.$t SELECT * FROM src.$t;"
    fi
done
sqlite3 "$out" "VACUUM"
