// One mysql2 session through tether: binary-protocol prepared statements,
// multi-statements, a transaction, COM_CHANGE_USER and a pool. Prints one JSON
// line per step; the pytest side checks them against tether's view.
const mysql = require('mysql2/promise');

const [host, port] = [process.env.TETHER_HOST || '127.0.0.1', Number(process.env.TETHER_PORT)];
const out = (step, value) => console.log(JSON.stringify({ step, value }));
const waitForSignal = () => new Promise((resolve) => process.stdin.once('data', resolve));

(async () => {
  const conn = await mysql.createConnection({
    host, port, user: 'app', password: 'apppw', database: 'tether_test',
    multipleStatements: true,
    connectAttributes: { program_name: 'node-orders' },
  });
  const [[row]] = await conn.execute('SELECT ? + 1 AS answer, CONNECTION_ID() AS id', [41]);
  out('execute', row);
  const [[again]] = await conn.execute('SELECT ? + 1 AS answer, CONNECTION_ID() AS id', [99]);
  out('execute_again', again);
  const [sets] = await conn.query('SELECT 1 AS a; SELECT 2 AS b');
  out('multi', sets);
  await conn.beginTransaction();
  await conn.execute('SELECT COUNT(*) AS n FROM items WHERE qty > ?', [0]);
  out('in_transaction', true);
  await waitForSignal();
  await conn.commit();
  await conn.changeUser({ user: 'other', password: 'otherpw', database: 'tether_test' });
  const [[who]] = await conn.query('SELECT CURRENT_USER() AS user');
  out('changed_user', who);
  await waitForSignal();

  const pool = mysql.createPool({
    host, port, user: 'app', password: 'apppw', database: 'tether_test', connectionLimit: 3,
    connectAttributes: { program_name: 'node-pool' },
  });
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => pool.execute('SELECT ? AS n, SLEEP(0.05)', [n])));
  out('pool', results.map(([[r]]) => r.n));
  await waitForSignal();
  await pool.end();
  await conn.end();
  out('done', true);
})().catch((e) => {
  out('error', { code: e.code, errno: e.errno, message: e.message });
  process.exit(1);
});
