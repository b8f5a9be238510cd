#!/bin/sh
# Regenerates tests/captures/*.hex against a running private MariaDB:
#   /usr/bin/python3 tests/integration/mariadb_server.py --port 33160 &   (wait for "MariaDB ready")
#   tools/capture/capture_all.sh [host:port]
# Run from the repository root. Needs the mariadb CLI, sysbench and python3-pymysql.
set -eu
U=${1:-127.0.0.1:33160}
HOST=${U%:*}
PORT=${U##*:}
P=/usr/bin/python3
C="$P tools/capture/capture.py --upstream $U --tether-greeting"
OUT=tests/captures

$C --out $OUT/mariadb-cli_select.hex \
  --comment "The mariadb CLI (MariaDB 10.11 client, libmariadb) logs in as app/apppw to tether_test (program_name=mysql), runs SELECT 1; SELECT * FROM items (3 rows), then sends COM_QUIT and closes." \
  -- mariadb --protocol=tcp -h 127.0.0.1 -P '{port}' -u app -papppw tether_test -e "SELECT 1; SELECT * FROM items"

$C --out $OUT/mariadb-cli_compressed_transaction.hex \
  --comment "The mariadb CLI (MariaDB 10.11 client, libmariadb) with --compress (CLIENT_COMPRESS, zlib) logs in as app/apppw to tether_test (program_name=mysql); after the login's OK every packet travels in compressed frames: SELECT 1; BEGIN; INSERT INTO items; SELECT REPEAT('tether', 2000) (12000 bytes, a zlib-compressed frame); COMMIT; then COM_QUIT and closes." \
  --comment "framing: compressed" \
  -- mariadb --compress --protocol=tcp -h 127.0.0.1 -P '{port}' -u app -papppw tether_test -e "SELECT 1; BEGIN; INSERT INTO items (name, qty) VALUES ('quince', 4); SELECT REPEAT('tether', 2000); COMMIT"

$C --out $OUT/pymysql_transaction_multi-statements.hex \
  --comment "PyMySQL 1.0.2 (program_name=tether-capture, CLIENT.MULTI_STATEMENTS, autocommit on) logs in as app/apppw to tether_test; BEGIN; INSERT INTO items; COMMIT; then one COM_QUERY with three statements (SELECT 1; SELECT name ...; UPDATE ...) answered with MORE_RESULTS_EXISTS; COM_QUIT." \
  -- $P tools/capture/clients.py transaction '{port}'

$C --out $OUT/pymysql_wrong-password.hex \
  --comment "PyMySQL 1.0.2 logs in as app with a wrong password: the server answers ERR 1045 (28000) and closes." \
  -- $P tools/capture/clients.py wrong-password '{port}'

$C --out $OUT/pymysql_load-data-local-infile.hex \
  --comment "PyMySQL 1.0.2 (local_infile=True) logs in as app; LOAD DATA LOCAL INFILE of 3 rows into items: server 0xFB request, client file contents + empty packet, server OK; COM_QUIT." \
  -- $P tools/capture/clients.py infile '{port}'

# A tiny sysbench table (through the server directly, not recorded).
sysbench oltp_point_select --db-driver=mysql --mysql-host="$HOST" --mysql-port="$PORT" --mysql-user=app \
  --mysql-password=apppw --mysql-db=tether_test --tables=1 --table-size=10 prepare >/dev/null 2>&1 || true
$C --out $OUT/sysbench_point-select_prepared.hex \
  --comment "sysbench 1.0.20 oltp_point_select (libmariadb, --db-ps-mode=auto: binary protocol) logs in as app to tether_test, runs 5 events against sbtest1 (10 rows) and quits: COM_STMT_PREPARE with one parameter, COM_STMT_EXECUTE x5, then COM_STMT_CLOSE (no response) and COM_QUIT in one chunk." \
  -- sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port='{port}' --mysql-user=app \
     --mysql-password=apppw --mysql-db=tether_test --tables=1 --table-size=10 --db-ps-mode=auto --threads=1 \
     --time=0 --events=5 run >/dev/null

# The default database (needs a database with a 64-character name that app may use; as root:
#   CREATE DATABASE tether_a_database_name_as_long_as_mariadb_allows_sixty_four_char;
#   GRANT ALL ON tether_a_database_name_as_long_as_mariadb_allows_sixty_four_char.* TO 'app'@'%';)
LONG=tether_a_database_name_as_long_as_mariadb_allows_sixty_four_char
$C --out $OUT/mariadb-cli_use-init-db.hex \
  --comment "The mariadb CLI (MariaDB 10.11 client, libmariadb, CLIENT_SESSION_TRACK; --force, statements on stdin) logs in as app/apppw to tether_test; its USE builtin sends COM_INIT_DB (and the CLI asks SELECT DATABASE() itself): to a database with a 64-character name (the command and the OK, whose SESSION_TRACK_SCHEMA entry repeats the name, are both longer than tether's 32-byte peek), to mysql, which app may not use (ERR 1044), then to information_schema; COM_QUIT." \
  -- sh -c "printf 'USE $LONG;\nUSE mysql;\nUSE information_schema;\n' | mariadb --protocol=tcp -h 127.0.0.1 -P {port} -u app -papppw tether_test --force"
$C --out $OUT/mariadb-cli_use-com-query.hex \
  --comment "The mariadb CLI (MariaDB 10.11 client, libmariadb, CLIENT_SESSION_TRACK; --comments --force, statements on stdin) logs in as app/apppw to tether_test; statements that start with a comment are sent as COM_QUERY, so USE reaches the server as SQL and the OK's session state (SESSION_TRACK_SCHEMA) names the new database: USE of a database with a 64-character name (an OK longer than tether's 32-byte peek), SELECT DATABASE(), USE mysql (ERR 1044), USE information_schema (a short OK); COM_QUIT." \
  -- sh -c "printf '/* app */ USE $LONG;\nSELECT DATABASE();\n/* app */ USE mysql;\n/* app */ USE information_schema;\n' | mariadb --protocol=tcp -h 127.0.0.1 -P {port} -u app -papppw tether_test --comments --force"
