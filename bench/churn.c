/* bench/churn.c - the connection client of bench/run, built by it at run time against libmariadb.
 *
 *   churn loop HOST PORT USER PASSWORD SECONDS WORKERS
 *       WORKERS threads each repeat, until SECONDS have passed: connect over TCP, log in,
 *       SELECT 1 (and check the answer), COM_QUIT, close.  On exit prints one line
 *           connections=N errors=E seconds=S
 *       where N counts the complete cycles.  The first error is printed on stderr.
 *
 *   churn hold HOST PORT USER PASSWORD COUNT
 *       Logs in COUNT connections one after another, each running one application-like SELECT
 *       (about 150 bytes, literals of its own; see held_statement) before it idles, and prints
 *       "held N" (N < COUNT when one failed; the reason goes to stderr).  The statement is there
 *       so that an idle session holds what a real one does: the server's and a proxy's
 *       per-session state after a query (tether's latest-statement buffer, for instance), not
 *       just a fresh login's.  It reads sbtest.sbtest1, which bench/run's sysbench prepare
 *       created.  Then it waits for SIGTERM or SIGINT, says
 *       goodbye (COM_QUIT) on every even-numbered connection, prints "quit Q dropped D" and
 *       exits without closing the odd-numbered ones: the kernel closes those sockets, as
 *       when an application crashes.  A proxy must end the server session in both cases.
 *
 * With BENCH_SSL_CA=FILE in the environment, both modes log in over TLS: the server's
 * certificate must chain to FILE and name HOST (MYSQL_OPT_SSL_VERIFY_SERVER_CERT), and a login
 * that did not end up inside TLS counts as a failure.  libmariadb 3.3 offers no way to resume a
 * TLS session, so every connection is a full handshake.
 *
 * Both modes stop by themselves if the process that started them dies (PR_SET_PDEATHSIG).
 * Exit status: 0 success; 1 no cycle completed / not all COUNT held / setup failed; 2 usage.
 */
#include <mysql.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

struct target {
    const char *host, *user, *password;
    unsigned int port;
    const char *ssl_ca; /* NULL: plaintext */
};

static struct target target;

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One logged-in connection, or NULL with the reason in why. */
static MYSQL *login(char *why, size_t why_len) {
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(why, why_len, "mysql_init: out of memory");
        return NULL;
    }
    unsigned int seconds = 10, protocol = MYSQL_PROTOCOL_TCP;
    mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol); /* "localhost" must not mean the socket */
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &seconds);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &seconds);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &seconds);
    if (target.ssl_ca) {
        my_bool on = 1;
        mysql_optionsv(m, MYSQL_OPT_SSL_CA, target.ssl_ca);
        mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    }
    if (!mysql_real_connect(m, target.host, target.user, target.password, NULL, target.port, NULL, 0)) {
        snprintf(why, why_len, "login: %s (%u)", mysql_error(m), mysql_errno(m));
        mysql_close(m);
        return NULL;
    }
    /* A TLS benchmark that quietly measured plaintext would be worse than none. */
    if (target.ssl_ca && !mysql_get_ssl_cipher(m)) {
        snprintf(why, why_len, "login succeeded without TLS");
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* SELECT 1 must come back as exactly one row holding "1". */
static int select_one(MYSQL *m, char *why, size_t why_len) {
    if (mysql_query(m, "SELECT 1") != 0) {
        snprintf(why, why_len, "SELECT 1: %s (%u)", mysql_error(m), mysql_errno(m));
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) {
        snprintf(why, why_len, "SELECT 1 returned no result set: %s", mysql_error(m));
        return -1;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    int ok = row && row[0] && strcmp(row[0], "1") == 0 && mysql_num_rows(res) == 1;
    mysql_free_result(res);
    if (!ok) {
        snprintf(why, why_len, "SELECT 1 returned something other than 1");
        return -1;
    }
    return 0;
}

/* The statement connection n runs before it idles: a lookup like an application's, with its
 * own literals (numbers, a string, a comment), so no two connections send the same text. */
static int held_statement(MYSQL *m, long n, char *why, size_t why_len) {
    char sql[256];
    long id = n % 10000 + 1;
    int len = snprintf(sql, sizeof sql,
                       "SELECT id, k, c, pad FROM sbtest.sbtest1 WHERE id IN (%ld, %ld, %ld) "
                       "AND k > %ld AND c <> 'held-%06ld' ORDER BY id DESC LIMIT 5 /* bench/churn hold */",
                       id, (id * 7) % 10000 + 1, (id * 13) % 10000 + 1, n % 100, n);
    if (len < 0 || (size_t)len >= sizeof sql) {
        snprintf(why, why_len, "held statement does not fit");
        return -1;
    }
    if (mysql_real_query(m, sql, (unsigned long)len) != 0) {
        snprintf(why, why_len, "held statement: %s (%u)", mysql_error(m), mysql_errno(m));
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) {
        snprintf(why, why_len, "held statement returned no result set: %s", mysql_error(m));
        return -1;
    }
    int ok = mysql_num_fields(res) == 4;
    mysql_free_result(res);
    if (!ok) {
        snprintf(why, why_len, "held statement returned other than 4 columns");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- loop */

static double loop_until;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;
static long total_cycles, total_errors;
static char first_error[512];

static void *loop_worker(void *unused) {
    (void)unused;
    long cycles = 0, errors = 0;
    char why[512];
    mysql_thread_init();
    while (monotonic_seconds() < loop_until) {
        MYSQL *m = login(why, sizeof why);
        int ok = m && select_one(m, why, sizeof why) == 0;
        if (m) mysql_close(m); /* COM_QUIT, then close */
        if (ok) {
            cycles++;
            continue;
        }
        errors++;
        pthread_mutex_lock(&totals_lock);
        if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", why);
        pthread_mutex_unlock(&totals_lock);
        usleep(10 * 1000); /* a refusing path must not turn into a busy loop */
    }
    pthread_mutex_lock(&totals_lock);
    total_cycles += cycles;
    total_errors += errors;
    pthread_mutex_unlock(&totals_lock);
    mysql_thread_end();
    return NULL;
}

static int run_loop(double seconds, int workers) {
    enum { max_workers = 512 };
    pthread_t threads[max_workers];
    if (seconds <= 0 || workers < 1 || workers > max_workers) return 2;
    double start = monotonic_seconds();
    loop_until = start + seconds;
    int started = 0;
    for (; started < workers; started++) {
        if (pthread_create(&threads[started], NULL, loop_worker, NULL) != 0) {
            fprintf(stderr, "churn: could not start worker %d\n", started + 1);
            loop_until = 0;
            break;
        }
    }
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    if (started < workers) return 1;
    double elapsed = monotonic_seconds() - start;
    printf("connections=%ld errors=%ld seconds=%.3f\n", total_cycles, total_errors, elapsed);
    if (first_error[0]) fprintf(stderr, "churn: first error: %s\n", first_error);
    return total_cycles > 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- hold */

static int run_hold(long count) {
    if (count < 1 || count > 1000000) return 2;
    MYSQL **held = calloc((size_t)count, sizeof *held);
    if (!held) {
        fprintf(stderr, "churn: out of memory\n");
        return 1;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* taken synchronously by sigwait below */

    long opened = 0;
    char why[512];
    while (opened < count) {
        held[opened] = login(why, sizeof why);
        if (held[opened] && held_statement(held[opened], opened, why, sizeof why) != 0) {
            mysql_close(held[opened]);
            held[opened] = NULL;
        }
        if (!held[opened]) {
            fprintf(stderr, "churn: connection %ld of %ld: %s\n", opened + 1, count, why);
            break;
        }
        opened++;
    }
    printf("held %ld\n", opened);
    fflush(stdout);

    int sig;
    sigwait(&stop, &sig);
    long quit = 0;
    for (long i = 0; i < opened; i += 2, quit++) mysql_close(held[i]);
    printf("quit %ld dropped %ld\n", quit, opened - quit);
    fflush(stdout);
    _exit(opened == count ? 0 : 1); /* no library clean-up: the odd ones go down with the process */
}

int main(int argc, char **argv) {
    int loop = argc == 8 && strcmp(argv[1], "loop") == 0;
    int hold = argc == 7 && strcmp(argv[1], "hold") == 0;
    if (!loop && !hold) {
        fprintf(stderr,
                "usage: %s loop HOST PORT USER PASSWORD SECONDS WORKERS\n"
                "       %s hold HOST PORT USER PASSWORD COUNT\n",
                argv[0], argv[0]);
        return 2;
    }
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) return 1; /* parent already gone */
    signal(SIGPIPE, SIG_IGN);
    target.host = argv[2];
    target.port = (unsigned int)strtoul(argv[3], NULL, 10);
    target.user = argv[4];
    target.password = argv[5];
    target.ssl_ca = getenv("BENCH_SSL_CA");
    if (target.ssl_ca && !target.ssl_ca[0]) target.ssl_ca = NULL;
    if (target.ssl_ca && access(target.ssl_ca, R_OK) != 0) {
        fprintf(stderr, "churn: BENCH_SSL_CA %s is not a readable file\n", target.ssl_ca);
        return 2;
    }
    if (mysql_library_init(0, NULL, NULL) != 0) {
        fprintf(stderr, "churn: mysql_library_init failed\n");
        return 1;
    }
    int rc = loop ? run_loop(strtod(argv[6], NULL), atoi(argv[7])) : run_hold(strtol(argv[6], NULL, 10));
    mysql_library_end();
    return rc;
}
