#!/usr/bin/env bash
# tests/e2e/migrate.sh: referd-migrate against the stack's MariaDB, on a
# scratch database of its own (dropped at the end):
#   - the shipped migrations apply, then a second run applies none;
#   - a ';' at the end of a line inside a string ('...' with '' and \',
#     "...") or a comment (--, #, /* */) ends no statement: the rows hold
#     exactly those bytes;
#   - a file whose name holds a quote is recorded (the bookkeeping is
#     prepared statements, no SQL built from the name);
#   - a failing statement and an unclosed quote are reported as FILE:LINE
#     and the file is not recorded;
#   - -t checks the configuration (0, or 1 with the message), --version.
. "$(cd "$(dirname "$0")/../.." && pwd)/etc/dev/lib.sh"
set +e

[ -f "$CONF" ] || { echo "Bail out! no stack: $CONF is missing (etc/dev/up)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/migrate-e2e.XXXXXX")
. "$top/tests/e2e/lib/tap.sh"
SUITE=migrate
DB=referd_mig_$$
MIG=$BUILD/referd-migrate
cleanup() {
	mysql_client -e "DROP DATABASE IF EXISTS \`$DB\`" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
q() { mysql_client -N -B "$DB" -e "$1"; }

DBUSER=$(conf_get db_user)
mysql_client -e "CREATE DATABASE \`$DB\`; GRANT ALL ON \`$DB\`.* TO '$DBUSER'@'localhost'" ||
    { echo "Bail out! cannot create the scratch database $DB"; exit 1; }
sed "s/^db_name *=.*/db_name = $DB/" "$CONF" >"$T/m.conf"
chmod 600 "$T/m.conf"
mkdir "$T/d"
cp "$top"/sql/migrations/[0-9][0-9][0-9]_*.sql "$T/d/"
NSHIPPED=$(ls "$T/d" | wc -l)

# --- options -----------------------------------------------------------------
out=$("$MIG" --version 2>&1); rc=$?
is "--version exits 0" "$rc" 0
like "--version prints the package version" "$out" '^referd-migrate [0-9]+\.[0-9]+'
out=$("$MIG" -t -c "$T/m.conf" 2>&1); rc=$?
is "-t on a good configuration exits 0" "$rc" 0
printf 'db_port = many\n' >>"$T/bad.conf"
cat "$T/m.conf" "$T/bad.conf" >"$T/bad2.conf"; chmod 600 "$T/bad2.conf"
out=$("$MIG" -t -c "$T/bad2.conf" 2>&1); rc=$?
is "-t on a bad configuration exits 1" "$rc" 1
like "-t names FILE:LINE" "$out" "bad2\.conf:[0-9]+: "
out=$("$MIG" -t -c "$T/missing.conf" 2>&1); rc=$?
is "-t on a missing file exits 1" "$rc" 1
is "-t connects to nothing: no table made" \
    "$(q "SHOW TABLES LIKE 'schema_migrations'")" ""

# --- the shipped files ---------------------------------------------------------
out=$("$MIG" -c "$T/m.conf" -d "$T/d" 2>&1); rc=$?
is "the shipped migrations apply" "$rc" 0
is "each is recorded" "$(q 'SELECT COUNT(*) FROM schema_migrations')" "$NSHIPPED"
out=$("$MIG" -c "$T/m.conf" -d "$T/d" 2>&1)
like "a second run applies none" "$out" "0 applied, $NSHIPPED up to date"

# --- semicolons inside strings and comments ------------------------------------
cat >"$T/d/900_semicolons.sql" <<'EOF'
-- a ';' at the end of a line inside strings and comments;
CREATE TABLE IF NOT EXISTS mig_t (
  id INT NOT NULL PRIMARY KEY, -- the key;
  s VARCHAR(255) NOT NULL  # a hash comment;
) ENGINE=InnoDB;
/* a block;
   comment; */
INSERT INTO mig_t VALUES (1, 'first;
second'), (2, 'it''s; \'quoted\';
'), (3, "dq;
"), (4, '-- not a comment;'), (5, '/* nor this;');
INSERT INTO mig_t VALUES (6, 'after')
EOF
cp "$T/d/900_semicolons.sql" "$T/d/901_it's.sql"
sed -i 's/mig_t/mig_u/g' "$T/d/901_it's.sql"
out=$("$MIG" -c "$T/m.conf" -d "$T/d" 2>&1); rc=$?
is "a file with ';' inside strings and comments applies" "$rc" 0
is "its rows hold those bytes" \
    "$(q "SELECT GROUP_CONCAT(id, '=', HEX(s) ORDER BY id SEPARATOR ' ') FROM mig_t")" \
    "1=$(printf 'first;\nsecond' | xxd -p -u) 2=$(printf "it's; 'quoted';\n" | xxd -p -u) 3=$(printf 'dq;\n' | xxd -p -u) 4=$(printf -- '-- not a comment;' | xxd -p -u) 5=$(printf '/* nor this;' | xxd -p -u) 6=$(printf after | xxd -p -u)"
is "a file named with a quote is recorded under its name" \
    "$(q "SELECT name FROM schema_migrations WHERE version = 901")" "901_it's.sql"
is "and its table made" "$(q 'SELECT COUNT(*) FROM mig_u')" 6

# --- errors --------------------------------------------------------------------
printf 'SELECT 1;\n\nCREATE TABLE mig_bad (x INT);\nSELEC oops;\n' >"$T/d/910_bad.sql"
out=$("$MIG" -c "$T/m.conf" -d "$T/d" 2>&1); rc=$?
is "a failing statement fails the run" "$rc" 1
like "and is named by file and line" "$out" "910_bad\.sql:4: .*SQL syntax"
is "the failed file is not recorded" \
    "$(q 'SELECT COUNT(*) FROM schema_migrations WHERE version = 910')" 0
rm "$T/d/910_bad.sql"
printf "SELECT 1;\nINSERT INTO mig_t VALUES (7,\n 'never closed;\n);\n" >"$T/d/920_open.sql"
out=$("$MIG" -c "$T/m.conf" -d "$T/d" 2>&1); rc=$?
is "an unclosed quote fails the run" "$rc" 1
like "at the line where the quote opens" "$out" "920_open\.sql:3: a quote or comment"
is "nothing of the statement ran" "$(q 'SELECT COUNT(*) FROM mig_t WHERE id = 7')" 0
rm "$T/d/920_open.sql"
out=$("$MIG" -s -c "$T/m.conf" -d "$T/d" 2>&1)
is "-s lists every file applied" "$(printf '%s\n' "$out" | grep -c '^applied ')" $((NSHIPPED + 2))

done_testing
