// One session of a Node driver (argv[2]: mysql2 or mariadb) that runs a
// server-side prepared statement (COM_STMT_PREPARE + COM_STMT_EXECUTE; the
// mariadb connector pipelines them, EXECUTE naming statement -1) and a text
// query, each with literals the fingerprint must not show. Prints one JSON line
// per step and waits for "go" on stdin after each, while pytest looks at tether.
const which = process.argv[2];
const driver = which === 'mysql2' ? require('mysql2/promise') : require('mariadb');

const [host, port] = [process.env.TETHER_HOST || '127.0.0.1', Number(process.env.TETHER_PORT)];
const out = (step, value) => console.log(JSON.stringify({ step, value }));
const waitForSignal = () => new Promise((resolve) => process.stdin.once('data', resolve));

(async () => {
  const conn = await driver.createConnection({
    host, port, user: 'app', password: 'apppw', database: 'tether_test',
    connectAttributes: { program_name: `node-${which}-statements` },
  });
  const id = Number(conn.threadId);
  await conn.execute("SELECT name FROM items WHERE qty > ? AND name <> 'node-secret-literal'", [1938274655]);
  out('executed', id);
  await waitForSignal();
  await conn.query("SELECT COUNT(*) AS n FROM items WHERE name = 'query-secret-literal' OR qty = 1827364509");
  out('queried', id);
  await waitForSignal();
  await conn.end();
  out('done', true);
})().catch((e) => {
  out('error', { code: e.code, errno: e.errno, message: e.message });
  process.exit(1);
});
