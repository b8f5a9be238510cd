// One session of the npm `mariadb` connector through tether, with its defaults:
// pipelining on (every query of a Promise.all is written before any answer is
// read), bulk batch() (COM_STMT_BULK_EXECUTE), binary execute(), a transaction,
// and USE as SQL. Prints one JSON line per step and waits for "go" on stdin
// where the pytest side looks at tether; at the end it stays connected until
// it is killed.
const mariadb = require('mariadb');

const [host, port] = [process.env.TETHER_HOST || '127.0.0.1', Number(process.env.TETHER_PORT)];
const out = (step, value) => console.log(JSON.stringify({ step, value }));
const waitForSignal = () => new Promise((resolve) => process.stdin.once('data', resolve));
const range = (n) => Array.from({ length: n }, (_, i) => i);

(async () => {
  const conn = await mariadb.createConnection({
    host, port, user: 'app', password: 'apppw', database: 'tether_test',
    connectAttributes: { program_name: 'node-mariadb' },
  });
  // 50 queries in flight on one connection at once.
  const pipelined = await Promise.all(range(50).map((i) => conn.query('SELECT ? AS n', [i])));
  out('pipelined', { id: Number(conn.threadId), ns: pipelined.map((rows) => Number(rows[0].n)) });

  const [row] = await conn.execute('SELECT ? + 1 AS answer', [41]);
  const executed = await Promise.all(range(30).map((i) => conn.execute('SELECT ? * 2 AS twice', [i])));
  out('execute', { answer: Number(row.answer), twice: executed.map((rows) => Number(rows[0].twice)) });

  await conn.query('CREATE TEMPORARY TABLE node_batch (id INT PRIMARY KEY, name VARCHAR(20))');
  const batch = await conn.batch('INSERT INTO node_batch VALUES (?, ?)', range(200).map((i) => [i, `name-${i}`]));
  const [count] = await conn.query('SELECT COUNT(*) AS n FROM node_batch');
  out('batch', { affected: Number(batch.affectedRows), rows: Number(count.n) });

  await conn.beginTransaction();
  await conn.query('UPDATE items SET qty = qty WHERE id = 1');
  out('in_transaction', true);
  await waitForSignal();
  await conn.commit();
  out('committed', true);
  await waitForSignal();

  await conn.query('USE information_schema');
  const [db] = await conn.query('SELECT DATABASE() AS db');
  out('used', db.db);
  await waitForSignal();

  // Pipelined again, then idle until killed.
  await Promise.all(range(50).map((i) => conn.query('DO ?', [i])));
  out('idle', true);
  await new Promise(() => {});
})().catch((e) => {
  out('error', { code: e.code, errno: e.errno, message: e.message });
  process.exit(1);
});
