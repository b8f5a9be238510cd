#!/usr/bin/python3
"""Client scripts the captures in tests/captures were made with (run through capture.py).

  clients.py transaction PORT   pymysql, program_name=tether-capture: BEGIN; INSERT; COMMIT, then a
                                multi-statement query (CLIENT.MULTI_STATEMENTS); COM_QUIT.
  clients.py wrong-password PORT  pymysql login as app with a wrong password (the server answers 1045).
  clients.py infile PORT        pymysql with local_infile=True: LOAD DATA LOCAL INFILE of 3 rows; COM_QUIT.
"""
import os
import sys
import tempfile

import pymysql
from pymysql.constants import CLIENT


def connect(port, **kw):
    args = dict(host="127.0.0.1", port=port, user="app", password="apppw", database="tether_test",
                program_name="tether-capture", connect_timeout=5)
    args.update(kw)
    return pymysql.connect(**args)


def transaction(port):
    conn = connect(port, client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO items (name, qty) VALUES ('fig', 11)")
        cur.execute("COMMIT")
        cur.execute("SELECT 1; SELECT name FROM items WHERE id = 1; UPDATE items SET qty = qty WHERE id = 2")
        while cur.nextset():
            pass
    conn.close()


def wrong_password(port):
    try:
        connect(port, password="not-the-password")
    except pymysql.err.OperationalError as e:
        print("refused as expected:", e)
        return
    raise SystemExit("login with a wrong password succeeded?")


def infile(port):
    conn = connect(port, local_infile=True, autocommit=True)
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        f.write("kiwi\t1\nlime\t2\nmango\t3\n")
        path = f.name
    try:
        with conn.cursor() as cur:
            cur.execute(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE items (name, qty)")
    finally:
        os.unlink(path)
    conn.close()


if __name__ == "__main__":
    {"transaction": transaction, "wrong-password": wrong_password, "infile": infile}[sys.argv[1]](int(sys.argv[2]))
