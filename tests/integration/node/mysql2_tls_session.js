// One mysql2 session through tether over TLS, verifying tether's certificate
// against the test CA (TETHER_CA): a prepared statement, a large result, and
// what the server says of its own leg. One JSON line per step.
const fs = require('fs');
const mysql = require('mysql2/promise');

const [host, port] = [process.env.TETHER_HOST || '127.0.0.1', Number(process.env.TETHER_PORT)];
const out = (step, value) => console.log(JSON.stringify({ step, value }));

(async () => {
  const conn = await mysql.createConnection({
    host, port, user: 'app', password: 'apppw', database: 'tether_test',
    ssl: { ca: fs.readFileSync(process.env.TETHER_CA), rejectUnauthorized: true },
    connectAttributes: { program_name: 'node-tls' },
  });
  out('cipher', conn.connection.stream.getCipher ? conn.connection.stream.getCipher().version : null);
  const [[row]] = await conn.execute('SELECT ? + 1 AS answer', [41]);
  out('execute', row.answer);
  const [[big]] = await conn.query("SELECT LENGTH(REPEAT('x', 4000000)) AS n, MD5(REPEAT('x', 4000000)) AS md5, " +
                                   "REPEAT('x', 4000000) AS payload");
  out('large', { n: big.n, length: big.payload.length });
  const [[status]] = await conn.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
  out('server_ssl_cipher', status.Value);
  await conn.end();
  out('done', true);
})().catch((e) => {
  out('error', { code: e.code, errno: e.errno, message: e.message });
  process.exit(1);
});
