<?php
// One PHP session through tether, with PDO or mysqli (both on mysqlnd, PHP's own implementation of
// the protocol), compressed or not. Usage: php session.php pdo|mysqli 0|1 PORT
// Prints one JSON line per step ({"step": ..., "value": ...}); after "in_transaction" and "large" it
// waits for a line on stdin, so the test can look at /connections while the session is idle there.
declare(strict_types=1);
error_reporting(E_ALL);
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);

[$api, $compress, $port] = [$argv[1], $argv[2] === '1', (int)$argv[3]];

function step(string $name, $value): void {
    fwrite(STDOUT, json_encode(['step' => $name, 'value' => $value]) . "\n");
    fflush(STDOUT);
}

// A result of several MB whose rows do not compress to nothing, so frames span many reads.
const LARGE = "SELECT seq, SHA2(seq, 512) AS h, REPEAT(MD5(seq), 20) AS r FROM tether_test.seq_1_to_8000 ORDER BY seq";

function digest(iterable $rows): array {
    $n = 0; $bytes = 0; $ctx = hash_init('md5');
    foreach ($rows as $row) {
        $line = implode("\t", array_map('strval', $row)) . "\n";
        hash_update($ctx, $line);
        $bytes += strlen($line);
        $n++;
    }
    return ['rows' => $n, 'bytes' => $bytes, 'md5' => hash_final($ctx)];
}

set_exception_handler(function (Throwable $e) {
    step('error', get_class($e) . ': ' . $e->getMessage());
    exit(1);
});

if ($api === 'pdo') {
    $db = new PDO("mysql:host=127.0.0.1;port=$port;dbname=tether_test", 'app', 'apppw', [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_EMULATE_PREPARES => false,  // real COM_STMT_PREPARE / EXECUTE
        PDO::MYSQL_ATTR_COMPRESS => $compress,
    ]);
    $one = fn(string $sql) => $db->query($sql)->fetch(PDO::FETCH_NUM);
    $all = fn(string $sql) => $db->query($sql)->fetchAll(PDO::FETCH_NUM);
    $prepared = function (array $ids) use ($db) {
        $st = $db->prepare('SELECT name, qty FROM fruits WHERE id = ?');
        $out = [];
        foreach ($ids as $id) {
            $st->execute([$id]);
            $out[] = $st->fetch(PDO::FETCH_NUM);
        }
        return $out;
    };
    $exec = fn(string $sql) => $db->exec($sql);
    $begin = fn() => $db->beginTransaction();
    $commit = fn() => $db->commit();
    $large = function () use ($db) {
        // Unbuffered: rows are read as they arrive, not after the whole result.
        $db->setAttribute(PDO::MYSQL_ATTR_USE_BUFFERED_QUERY, false);
        $r = digest($db->query(LARGE, PDO::FETCH_NUM));
        $db->setAttribute(PDO::MYSQL_ATTR_USE_BUFFERED_QUERY, true);
        return $r;
    };
    $close = function () use (&$db) { $db = null; };
} else {
    $db = mysqli_init();
    $db->real_connect('127.0.0.1', 'app', 'apppw', 'tether_test', $port, null, $compress ? MYSQLI_CLIENT_COMPRESS : 0);
    $one = fn(string $sql) => $db->query($sql)->fetch_row();
    $all = fn(string $sql) => $db->query($sql)->fetch_all(MYSQLI_NUM);
    $prepared = function (array $ids) use ($db) {
        $st = $db->prepare('SELECT name, qty FROM fruits WHERE id = ?');
        $out = [];
        foreach ($ids as $id) {
            $st->bind_param('i', $id);
            $st->execute();
            $out[] = $st->get_result()->fetch_row();
        }
        $st->close();
        return $out;
    };
    $exec = fn(string $sql) => $db->query($sql);
    $begin = fn() => $db->begin_transaction();
    $commit = fn() => $db->commit();
    $large = fn() => digest($db->query(LARGE, MYSQLI_USE_RESULT));
    $close = fn() => $db->close();
}

[$id, $compression] = $one("SELECT CONNECTION_ID(), VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COMPRESSION'");
step('hello', ['id' => (int)$id, 'compression' => $compression]);
step('query', $all('SELECT name, qty FROM fruits ORDER BY id'));
step('prepared', $prepared([1, 3, 2]));
$begin();
$exec("INSERT INTO items (name, qty) VALUES ('php-$api', 1)");
step('in_transaction', true);
fgets(STDIN);
$commit();
step('committed', $all("SELECT COUNT(*) FROM items WHERE name = 'php-$api'")[0][0] >= 1);
step('large', $large());
fgets(STDIN);
$exec("DELETE FROM items WHERE name = 'php-$api'");
if ($api === 'mysqli') {  // COM_CHANGE_USER: a new authentication exchange, inside frames when compressed
    $db->change_user('other', 'otherpw', 'tether_test');
    step('changed_user', $one('SELECT CURRENT_USER()')[0]);
    fgets(STDIN);
}
$close();
step('done', true);
