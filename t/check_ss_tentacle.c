/* check_ss_tentacle.c - the Tentacle client against the test peer: draining,
 * listing filters, sizes and payload faults, passwords, silent closes and
 * their explanations, SEND refusals, lock-step, and TLS (mutual, refused and
 * untrusted certificates, wrong ports, stalled handshakes, session facts).
 *
 * Each test starts its own t/peer/tentacle_peer on this run's 127.0.0.x
 * address with a kernel-picked port. Peers die with the test: teardown kills
 * them, and PR_SET_PDEATHSIG kills them if a forked test dies first. The PKI
 * (t/peer/make-pki.sh) is made once per run, before the suite starts, in a
 * run directory that also holds every test's files, so main() removes all
 * of it even after a failed test skipped its teardown. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tentacle.h"
#include "testutil.h"

#define MAX_PEERS 4
#define MAX_NAMES 4096
#define SECRET_DIGEST "9e769017c85f064977fe6a658f207fa6"

/* Made once in main(), inherited by every test. */
static char run_dir[512];
static char pki[1024];
static char addr[16];                   /* 127.0.0.x of this run */
static const char *peer_bin_dir;

/* Per test. */
static char *work;
static char storage[1024];

struct peer {
    pid_t pid;
    unsigned port;
    char label[64];
    char log[PATH_MAX];
};
static struct peer peers[MAX_PEERS];
static int npeers;

/* ---- helpers ---- */

/* now_ms - monotonic milliseconds */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* sleep_ms - sleep through signals */
static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* pki_file - a file of the run's PKI */
static const char *pki_file(const char *name)
{
    static char paths[8][PATH_MAX];
    static int next;
    char *p = paths[next++ % 8];

    snprintf(p, PATH_MAX, "%s/%s", pki, name);
    return p;
}

/* read_port - the port from a --port-file, 0 while it is not written */
static unsigned read_port(const char *path)
{
    char *text = tu_read(NULL, path);
    unsigned long v = 0;

    if (text != NULL)
        v = strtoul(text, NULL, 10);
    free(text);
    return (unsigned)v;
}

/* start_peer - tentacle_peer on addr, port 0, storage, a log, plus the
 * NULL-terminated extra arguments; returns once it listens */
static struct peer *start_peer(const char *arg, ...)
{
    const char *argv[48];
    char bin[PATH_MAX], port_file[PATH_MAX];
    struct peer *p;
    pid_t parent = getpid();
    va_list ap;
    int n = 0;

    ck_assert_int_lt(npeers, MAX_PEERS);
    p = &peers[npeers];
    snprintf(bin, sizeof(bin), "%s/tentacle_peer", peer_bin_dir);
    snprintf(port_file, sizeof(port_file), "%s/peer%d.port", work, npeers);
    snprintf(p->log, sizeof(p->log), "%s/peer%d.log", work, npeers);
    argv[n++] = bin;
    const char *fixed[] = { "-a", addr, "-p", "0", "--port-file", port_file, "-s", storage,
                            "--log", p->log };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[n++] = fixed[i];
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 46; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    p->pid = fork();
    ck_assert_int_ge(p->pid, 0);
    if (p->pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

        prctl(PR_SET_PDEATHSIG, SIGKILL);  /* the test died: so does its peer */
        if (getppid() != parent)
            _exit(127);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);      /* -p 0 prints the port there */
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    npeers++;
    for (int i = 0; i < 1000 && (p->port = read_port(port_file)) == 0; i++) {
        int status;

        ck_assert_msg(waitpid(p->pid, &status, WNOHANG) == 0, "%s exited early", bin);
        sleep_ms(5);
    }
    ck_assert_msg(p->port != 0, "%s wrote no port file", bin);
    snprintf(p->label, sizeof(p->label), "%s:%u", addr, p->port);
    return p;
}

/* stop_peer - TERM, then KILL if it lingers */
static void stop_peer(struct peer *p)
{
    int status;

    if (p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(p->pid, &status, WNOHANG) != 0) {
            p->pid = 0;
            return;
        }
        sleep_ms(10);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
}

/* setup - a fresh work directory with an empty peer storage */
static void setup(void)
{
    ck_assert_int_ge(asprintf(&work, "%s/test.XXXXXX", run_dir), 0);
    ck_assert_msg(mkdtemp(work) != NULL, "mkdtemp in %s failed", run_dir);
    snprintf(storage, sizeof(storage), "%s/storage", work);
    ck_assert_int_eq(mkdir(storage, 0700), 0);
    npeers = 0;
}

/* teardown - stop every peer of the test, remove its files */
static void teardown(void)
{
    for (int i = 0; i < npeers; i++)
        stop_peer(&peers[i]);
    npeers = 0;
    tu_rmtree(work);
    free(work);
    work = NULL;
}

/* remote - plain, no password, 2 s timeout, 4 KiB blocks, 1 MiB limit */
static struct tn_remote remote(const struct peer *p)
{
    struct tn_remote r = {
        .label = p->label, .host = addr, .port = p->port, .timeout_ms = 2000,
        .block_size = 4096, .max_file_size = 1 << 20,
    };
    return r;
}

/* content - len bytes of agent-like lines with some binary in them */
static char *content(size_t len, unsigned seed)
{
    char *b = malloc(len + 1);

    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < len; i++) {
        unsigned v = (unsigned)(i * 2654435761u + seed);

        b[i] = i % 40 == 39 ? '\n' : i % 97 == 13 ? (char)(v & 0xff) : (char)('a' + v % 26);
    }
    b[len] = '\0';
    return b;
}

/* put - a file in the peer storage */
static void put(const char *name, const char *data, size_t len)
{
    char path[PATH_MAX];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", storage, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* slurp - the whole of an fd from offset 0 */
static char *slurp(int fd, size_t *len_r)
{
    struct stat st;
    char *b;

    ck_assert_int_eq(fstat(fd, &st), 0);
    b = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
    *len_r = (size_t)st.st_size;
    return b;
}

struct sink {
    int fd;                             /* or TN_SINK_* */
    uint64_t size;
    int calls;
};

/* sink_to - a tn_sink_fn handing out s->fd and recording the call */
static int sink_to(void *data, uint64_t size)
{
    struct sink *s = data;

    s->size = size;
    s->calls++;
    return s->fd;
}

/* new_sink - an empty unlinked temp file as the sink */
static struct sink new_sink(void)
{
    struct sink s = { .fd = tu_fd_with("", 0) };
    return s;
}

/* get_bytes - MV/RECV name into a fresh sink; returns the tn_get result */
static int get_bytes(struct tn_conn *c, enum tn_get_cmd cmd, const char *name, char **data_r,
                     size_t *len_r, struct tn_error *err)
{
    struct sink s = new_sink();
    uint64_t size = 0;
    int rc = tn_get(c, cmd, name, sink_to, &s, &size, err);

    *data_r = slurp(s.fd, len_r);
    if (rc == TN_OK)
        ck_assert_uint_eq(size, *len_r);
    close(s.fd);
    return rc;
}

struct names {
    char *v[MAX_NAMES];
    size_t n;
    size_t stop_after;                  /* 0: never stop */
};

/* collect - a tn_name_fn keeping copies of the names */
static int collect(void *data, const char *name, size_t len)
{
    struct names *ns = data;

    ck_assert_uint_eq(strlen(name), len);
    if (ns->n < MAX_NAMES)
        ns->v[ns->n++] = strndup(name, len);
    return ns->stop_after != 0 && ns->n >= ns->stop_after;
}

/* has_name - whether the listing held name */
static bool has_name(const struct names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0)
            return true;
    return false;
}

/* free_names - release the copies, keep the struct for reuse */
static void free_names(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    ns->n = 0;
}

/* ls - LS <> into ns; returns the tn_ls result */
static int ls(struct tn_conn *c, struct names *ns, size_t *more, size_t *dropped,
              struct tn_error *err)
{
    return tn_ls(c, "", MAX_NAMES, collect, ns, more, dropped, err);
}

/* first_contact - tn_open, then LS if it opened: the first result that is
 * not TN_OK (TLS 1.3 reports refused client certificates only on a read) */
static int first_contact(const struct tn_remote *r, struct tn_error *err)
{
    struct tn_conn *c = NULL;
    struct names ns = { .n = 0 };
    int rc = tn_open(r, &c, err);

    if (rc == TN_OK) {
        rc = ls(c, &ns, NULL, NULL, err);
        free_names(&ns);
        ck_assert(rc != TN_OK || tn_alive(c));
    }
    ck_assert(rc != TN_FAIL || !tn_alive(c));
    tn_close(c);
    return rc;
}

/* log_count - lines of a peer log containing needle */
static unsigned log_count(const struct peer *p, const char *needle)
{
    char *text = tu_read(NULL, p->log);
    unsigned n = 0;

    ck_assert_ptr_nonnull(text);
    for (const char *s = text; (s = strstr(s, needle)) != NULL; s += strlen(needle))
        n++;
    free(text);
    return n;
}

/* load_cred - credentials from the run's PKI (names of files in it, or NULL) */
static struct tls_cred *load_cred(const char *ca, const char *crl, const char *cert,
                                  const char *key)
{
    struct tls_files f = {
        .ca = ca ? pki_file(ca) : NULL, .crl = crl ? pki_file(crl) : NULL,
        .cert = cert ? pki_file(cert) : NULL, .key = key ? pki_file(key) : NULL,
    };
    struct tls_cred *cred = NULL;
    char err[256] = "";

    ck_assert_msg(tls_cred_load(&f, &cred, err, sizeof(err)) == 0, "%s", err);
    return cred;
}

/* tls_peer - a TLS peer with -I serving cert/key (from the PKI) and extras */
static struct peer *tls_peer(const char *cert, const char *key, const char *ca,
                             const char *extra1, const char *extra2)
{
    char c[PATH_MAX], k[PATH_MAX], a[PATH_MAX];

    snprintf(c, sizeof(c), "%s", pki_file(cert));
    snprintf(k, sizeof(k), "%s", pki_file(key));
    if (ca == NULL)
        return start_peer("-I", "-e", c, "-k", k, extra1, extra2, (char *)NULL);
    snprintf(a, sizeof(a), "%s", pki_file(ca));
    return start_peer("-I", "-e", c, "-k", k, "-f", a, extra1, extra2, (char *)NULL);
}

#define assert_kind(err, want) \
    ck_assert_msg((err).kind == (want), "kind %d, want %d: %s", (err).kind, (want), (err).text)

/* ---- units ---- */

START_TEST(test_tentacle_pass_digest_is_md5_of_raw_md5)
{
    char out[33];

    tn_pass_digest("secret", out);
    ck_assert_str_eq(out, SECRET_DIGEST);
    tn_pass_digest("", out);
    ck_assert_uint_eq(strlen(out), 32);
    ck_assert_str_ne(out, SECRET_DIGEST);
}
END_TEST

static const struct {
    const char *name;
    size_t len;                         /* 0: strlen */
    bool valid;
} name_cases[] = {
    { "a1.100.data", 0, true },
    { "sp ace.data", 0, true },
    { "|$&%\"#!@(.data", 0, true },
    { "caf\xc3\xa9.data", 0, true },
    { "..8.data", 0, true },
    { ".hidden.7.data", 0, true },
    { "", 0, false },
    { ".", 0, false },
    { "..", 0, false },
    { "a/b", 0, false },
    { "../x", 0, false },
    { "a\\b", 0, false },
    { "q?", 0, false }, { "[", 0, false }, { "]", 0, false }, { "a=b", 0, false },
    { "a+b", 0, false }, { "<a", 0, false }, { "a>", 0, false }, { "c:d", 0, false },
    { "a;b", 0, false }, { "it's", 0, false }, { "a,b", 0, false }, { "*.data", 0, false },
    { "x~tmp", 0, false },
    { "a\nb", 0, false },
    { "cr\r", 0, false },
    { "ctl\001", 0, false },
    { "del\177", 0, false },
    { "nul\0x", 5, false },
};

START_TEST(test_tentacle_name_valid_follows_stock_rules)
{
    const char *n = name_cases[_i].name;
    size_t len = name_cases[_i].len != 0 ? name_cases[_i].len : strlen(n);

    ck_assert_msg(tn_name_valid(n, len) == name_cases[_i].valid, "case %d", _i);
}
END_TEST

START_TEST(test_tentacle_name_valid_bounds_length_at_255)
{
    char n[300];

    memset(n, 'x', sizeof(n));
    ck_assert(tn_name_valid(n, 255));
    ck_assert(!tn_name_valid(n, 256));
    ck_assert(!tn_name_valid(NULL, 0));
}
END_TEST

START_TEST(test_tls_cred_load_names_the_bad_file)
{
    struct tls_files f = { .ca = "/nonexistent/ca.pem" };
    struct tls_cred *cred = NULL;
    char err[256] = "";

    ck_assert_int_eq(tls_cred_load(&f, &cred, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_null(cred);
    ck_assert_msg(strstr(err, "/nonexistent/ca.pem") != NULL, "%s", err);

    f.ca = "/dev/null";                 /* GnuTLS loads 0 certificates and says ok */
    ck_assert_int_eq(tls_cred_load(&f, &cred, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "/dev/null") && strstr(err, "no certificate"), "%s", err);

    f.ca = NULL;
    f.cert = pki_file("client.pem");
    f.key = pki_file("server.key");
    ck_assert_int_eq(tls_cred_load(&f, &cred, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "client.pem") && strstr(err, "server.key") &&
                  strstr(err, "does not belong"), "%s", err);
    ck_assert_msg(strstr(err, "PRIVATE") == NULL, "%s", err);

    f.key = NULL;
    ck_assert_int_eq(tls_cred_load(&f, &cred, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "sync_key") != NULL, "%s", err);

    f.cert = pki_file("ca.key");        /* a key where a certificate belongs */
    f.key = pki_file("client.key");
    ck_assert_int_eq(tls_cred_load(&f, &cred, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "ca.key") && strstr(err, "not a PEM certificate"), "%s", err);

    struct tls_files crl_only = { .crl = pki_file("crl.pem") };
    ck_assert_int_eq(tls_cred_load(&crl_only, &cred, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(cred);
}
END_TEST

START_TEST(test_tls_cred_load_gives_expiry_and_verification)
{
    struct tls_cred *full = load_cred("ca.pem", "crl.pem", "client.pem", "client.key");
    struct tls_cred *none = load_cred(NULL, NULL, NULL, NULL);

    ck_assert(tls_cred_verifies(full));
    ck_assert(tls_cred_client_expiry(full) > time(NULL));
    ck_assert_ptr_nonnull(tls_cred_gnutls(full));
    ck_assert(!tls_cred_verifies(none));
    ck_assert_int_eq(tls_cred_client_expiry(none), 0);
    tls_cred_free(full);
    tls_cred_free(none);
    tls_cred_free(NULL);
}
END_TEST

/* ---- plain: draining ---- */

START_TEST(test_tentacle_drain_lists_moves_and_copies_exact_bytes)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };
    char *a = content(5000, 1), *b = content(1500, 2), *got, sub[PATH_MAX];
    size_t len, more = 9, dropped = 9;

    put("a1.100.data", a, 5000);
    put("b2.200.data", b, 1500);
    put("z.0.data", "", 0);
    snprintf(sub, sizeof(sub), "%s/conf", storage);
    ck_assert_int_eq(mkdir(sub, 0700), 0);  /* listed too: LS has no types */
    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    ck_assert_ptr_null(tn_tls(c));
    ck_assert_msg(ls(c, &ns, &more, &dropped, &err) == TN_OK, "%s", err.text);
    ck_assert(has_name(&ns, "a1.100.data") && has_name(&ns, "b2.200.data") &&
              has_name(&ns, "z.0.data"));
    ck_assert(!has_name(&ns, ".") && !has_name(&ns, ".."));
    ck_assert_uint_eq(more, 0);
    ck_assert_uint_eq(dropped, 0);
    free_names(&ns);

    ck_assert_msg(get_bytes(c, TN_RECV, "b2.200.data", &got, &len, &err) == TN_OK, "%s", err.text);
    ck_assert_uint_eq(len, 1500);
    ck_assert_mem_eq(got, b, 1500);
    free(got);
    ck_assert_msg(get_bytes(c, TN_MV, "a1.100.data", &got, &len, &err) == TN_OK, "%s", err.text);
    ck_assert_uint_eq(len, 5000);
    ck_assert_mem_eq(got, a, 5000);
    free(got);
    /* the peer unlinks after the last byte; this LS is served after that */
    ck_assert_msg(ls(c, &ns, NULL, NULL, &err) == TN_OK, "%s", err.text);
    ck_assert(!has_name(&ns, "a1.100.data"));
    ck_assert(has_name(&ns, "b2.200.data") && has_name(&ns, "z.0.data"));
    free_names(&ns);
    ck_assert(!tu_exists(storage, "a1.100.data"));
    ck_assert(tu_exists(storage, "b2.200.data"));
    ck_assert(tn_alive(c));
    tn_close(c);
    free(a);
    free(b);
}
END_TEST

/* Nothing answers "MV OK" for a 0-byte file, so a next line could merge
 * with it ("MV OK\nLS <>": the file is kept and the LS lost): the
 * connection must end there. */
START_TEST(test_tentacle_empty_file_ends_the_connection_after_the_ack)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };
    char *got;
    size_t len;

    put("z.0.data", "", 0);
    for (int i = 0; i < 2; i++) {
        put("e.1.data", "", 0);
        ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
        ck_assert_msg(get_bytes(c, i == 0 ? TN_MV : TN_RECV, i == 0 ? "z.0.data" : "e.1.data",
                                &got, &len, &err) == TN_OK, "%s", err.text);
        ck_assert_uint_eq(len, 0);
        free(got);
        ck_assert(!tn_alive(c));
        ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_FAIL);
        tn_close(c);
    }
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_OK);
    ck_assert(!has_name(&ns, "z.0.data") && has_name(&ns, "e.1.data"));
    free_names(&ns);
    tn_close(c);
    stop_peer(p);
    ck_assert(!tu_exists(storage, "z.0.data"));
    ck_assert_uint_eq(log_count(p, "declined"), 0);
    ck_assert_uint_eq(log_count(p, "pipelined"), 0);
    ck_assert_uint_eq(log_count(p, "cmd \"QUIT\""), 1);
}
END_TEST

START_TEST(test_tentacle_missing_file_is_a_file_error_and_the_connection_goes_on)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    char *got;
    size_t len;

    put("here.1.data", "hello\n", 6);
    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    ck_assert_int_eq(get_bytes(c, TN_MV, "gone.1.data", &got, &len, &err), TN_FILE);
    assert_kind(err, TN_F_MISSING);
    ck_assert_msg(strstr(err.text, p->label) == err.text, "%s", err.text);
    free(got);
    ck_assert_int_eq(get_bytes(c, TN_RECV, "gone.1.data", &got, &len, &err), TN_FILE);
    assert_kind(err, TN_F_MISSING);
    free(got);
    ck_assert_int_eq(get_bytes(c, TN_RECV, "bad\nname", &got, &len, &err), TN_FILE);
    assert_kind(err, TN_F_INVALID);
    free(got);
    ck_assert(tn_alive(c));
    ck_assert_msg(get_bytes(c, TN_RECV, "here.1.data", &got, &len, &err) == TN_OK, "%s", err.text);
    ck_assert_uint_eq(len, 6);
    free(got);
    tn_close(c);
    ck_assert_uint_eq(log_count(p, "pipelined"), 0);
}
END_TEST

START_TEST(test_tentacle_ls_never_passes_evil_names)
{
    struct peer *p = start_peer("-I", "--evil-names", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };
    size_t more = 9, dropped = 0;

    put("ok.1.data", "x", 1);
    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    ck_assert_msg(ls(c, &ns, &more, &dropped, &err) == TN_OK, "%s", err.text);
    for (size_t i = 0; i < ns.n; i++) {
        const char *n = ns.v[i];
        size_t len = strlen(n);

        ck_assert_msg(len >= 1 && len <= 255, "length %zu", len);
        ck_assert_msg(strcmp(n, ".") != 0 && strcmp(n, "..") != 0, "dot entry");
        ck_assert_msg(strpbrk(n, "/\\*:~") == NULL, "invalid char in '%s'", n);
        for (size_t j = 0; j < len; j++)
            ck_assert_msg((unsigned char)n[j] >= 0x20 && n[j] != 0x7f, "control byte");
    }
    ck_assert(has_name(&ns, "ok.1.data"));
    ck_assert(has_name(&ns, "..8.data") && has_name(&ns, ".hidden.7.data"));
    /* ../evil /etc/evil ctl cr star colon x~tmp "" and the 300-byte one */
    ck_assert_uint_eq(dropped, 9);
    ck_assert_uint_eq(more, 0);
    free_names(&ns);
    ck_assert(tn_alive(c));
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_ls_max_names_counts_the_rest)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };
    size_t more = 0, dropped = 9;
    char name[32];

    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "f%d.%d.data", i, i);
        put(name, "x", 1);
    }
    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    ck_assert_int_eq(tn_ls(c, "", 3, collect, &ns, &more, &dropped, &err), TN_OK);
    ck_assert_uint_eq(ns.n, 3);
    ck_assert_uint_eq(more, 7);
    ck_assert_uint_eq(dropped, 0);
    free_names(&ns);
    ns.stop_after = 2;                  /* the callback says stop */
    ck_assert_int_eq(tn_ls(c, "", 100, collect, &ns, &more, NULL, &err), TN_OK);
    ck_assert_uint_eq(ns.n, 2);
    ck_assert_uint_eq(more, 8);
    free_names(&ns);
    ck_assert(tn_alive(c));
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_ls_streams_a_long_listing)
{
    struct peer *p = start_peer("-I", "--huge-ls", "150000", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };
    size_t more = 0;

    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    ck_assert_msg(tn_ls(c, "", 10, collect, &ns, &more, NULL, &err) == TN_OK, "%s", err.text);
    ck_assert_uint_eq(ns.n, 10);
    ck_assert_uint_eq(ns.n + more, 150000);
    free_names(&ns);
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_listing_over_64_mib_is_declined)
{
    struct peer *p = start_peer("-I", "--huge-ls", "4000000", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };

    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    ck_assert_int_eq(tn_ls(c, "", 10, collect, &ns, NULL, NULL, &err), TN_FAIL);
    assert_kind(err, TN_E_PROTOCOL);
    ck_assert_msg(strstr(err.text, "64 MiB") != NULL, "%s", err.text);
    ck_assert_uint_eq(ns.n, 0);
    ck_assert(!tn_alive(c));
    tn_close(c);
    stop_peer(p);
    ck_assert_uint_eq(log_count(p, "ack \"LS NO\""), 1);
}
END_TEST

/* ---- plain: passwords and silent closes ---- */

START_TEST(test_tentacle_right_password_gets_pass_ok)
{
    struct peer *p = start_peer("-I", "-x", "secret", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.password = "secret";
    ck_assert_msg(first_contact(&r, &err) == TN_OK, "%s", err.text);
    ck_assert_uint_eq(log_count(p, "cmd \"PASS " SECRET_DIGEST "\""), 1);
    ck_assert_uint_eq(log_count(p, "reply \"PASS OK\""), 1);
}
END_TEST

START_TEST(test_tentacle_wrong_password_is_auth)
{
    struct peer *p = start_peer("-I", "-x", "secret", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.password = "Secret";
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_AUTH);
    ck_assert_msg(strstr(err.text, "sync_password") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_tentacle_missing_password_is_auth_after_probe)
{
    struct peer *p = start_peer("-I", "-x", "secret", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_AUTH);
    ck_assert_uint_eq(log_count(p, "cmd \"RECV <sync-probe.none>\""), 1);
}
END_TEST

START_TEST(test_tentacle_server_without_dash_I_is_no_list)
{
    struct peer *p = start_peer((char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    char *got;
    size_t len;

    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_NO_LIST);
    ck_assert_msg(strstr(err.text, "-I") != NULL, "%s", err.text);
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(get_bytes(c, TN_MV, "a.1.data", &got, &len, &err), TN_FAIL);
    assert_kind(err, TN_E_NO_LIST);
    ck_assert(!tn_alive(c));
    free(got);
    tn_close(c);
    ck_assert_uint_eq(log_count(p, "RECV <sync-probe.none>"), 2);
}
END_TEST

START_TEST(test_tentacle_nothing_listening_is_refused)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sa);
    struct tn_remote r = { .label = "closed-port", .host = addr, .timeout_ms = 2000,
                           .block_size = 4096, .max_file_size = 1000 };
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    inet_pton(AF_INET, addr, &sa.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    r.port = ntohs(sa.sin_port);
    close(fd);                          /* bound, never listened: now free */
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_FAIL);
    ck_assert_ptr_null(c);
    assert_kind(err, TN_E_REFUSED);
    ck_assert_msg(strstr(err.text, "closed-port: connection refused") == err.text, "%s", err.text);
}
END_TEST

START_TEST(test_tentacle_unresolvable_host_is_resolve)
{
    struct tn_remote r = { .host = "no-such-host.invalid", .port = 41121, .timeout_ms = 2000,
                           .block_size = 4096, .max_file_size = 1000 };
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };

    ck_assert_int_eq(tn_open(&r, &c, &err), TN_FAIL);
    assert_kind(err, TN_E_RESOLVE);
    ck_assert_msg(strstr(err.text, "no-such-host.invalid:41121: ") == err.text, "%s", err.text);
}
END_TEST

START_TEST(test_tentacle_idle_expired_connection_is_closed)
{
    struct peer *p = start_peer("-I", "--idle-ms", "150", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };

    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_OK);
    sleep_ms(400);
    ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_FAIL);
    assert_kind(err, TN_E_CLOSED);
    ck_assert(!tn_alive(c));
    ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_FAIL);
    free_names(&ns);
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_idle_expiry_before_first_command_is_closed_not_no_list)
{
    struct peer *p = start_peer("-I", "--idle-ms", "150", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };

    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    sleep_ms(400);
    ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_FAIL);
    assert_kind(err, TN_E_CLOSED);
    tn_close(c);
    ck_assert_uint_eq(log_count(p, "sync-probe"), 0);
}
END_TEST

/* ---- plain: stalls and deadlines ---- */

START_TEST(test_tentacle_first_reply_never_coming_is_no_answer)
{
    struct peer *p = start_peer("-I", "--stall", "reply", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };
    long long t0 = now_ms();

    r.timeout_ms = 300;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_NO_ANSWER);
    ck_assert_int_lt(now_ms() - t0, 2000);
}
END_TEST

START_TEST(test_tentacle_busy_slots_are_no_answer)
{
    struct peer *p = start_peer("-I", "-c", "1", "--hold", "1", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.timeout_ms = 300;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_NO_ANSWER);
    ck_assert_msg(strstr(err.text, "-c") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_tentacle_full_backlog_is_connect_timeout)
{
    struct peer *p = start_peer("-I", "-c", "1", "--hold", "1", "--backlog", "0", (char *)NULL);
    struct tn_remote r = remote(p);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->port) };
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    int fill[3];

    inet_pton(AF_INET, addr, &sa.sin_addr);
    for (int i = 0; i < 3; i++) {       /* fill the accept queue */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)!connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
    }
    sleep_ms(50);
    r.timeout_ms = 300;
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_FAIL);
    assert_kind(err, TN_E_CONNECT_TIMEOUT);
    for (int i = 0; i < 3; i++)
        close(fill[i]);
}
END_TEST

START_TEST(test_tentacle_stalled_reply_times_out)
{
    struct peer *p = start_peer("-I", "--stall", "reply", "--fault-cmd", "MV", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };
    char *got;
    size_t len;
    long long t0;

    put("a.1.data", "abc\n", 4);
    r.timeout_ms = 300;
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_OK);
    free_names(&ns);
    t0 = now_ms();
    ck_assert_int_eq(get_bytes(c, TN_MV, "a.1.data", &got, &len, &err), TN_FAIL);
    assert_kind(err, TN_E_TIMEOUT);
    ck_assert_int_lt(now_ms() - t0, 2000);
    ck_assert(!tn_alive(c));
    free(got);
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_stalled_payload_times_out)
{
    struct peer *p = start_peer("-I", "--stall", "payload", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    char *data = content(8000, 3), *got;
    size_t len;
    long long t0 = now_ms();

    put("a.1.data", data, 8000);
    r.timeout_ms = 300;
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(get_bytes(c, TN_RECV, "a.1.data", &got, &len, &err), TN_FAIL);
    assert_kind(err, TN_E_TIMEOUT);
    ck_assert_int_lt(now_ms() - t0, 2000);
    ck_assert_uint_lt(len, 8000);
    free(got);
    free(data);
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_slow_drip_hits_the_transfer_deadline)
{
    struct peer *p = start_peer("-I", "--drip", "5", "--drip-bytes", "10", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    char *data = content(20000, 12), *got;
    size_t len;
    long long t0;

    put("a.1.data", data, 20000);       /* 2 KB/s: 10 s at the drip rate */
    r.timeout_ms = 1000;                /* never idle that long */
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    t0 = now_ms();
    ck_assert_int_eq(get_bytes(c, TN_RECV, "a.1.data", &got, &len, &err), TN_FAIL);
    assert_kind(err, TN_E_TIMEOUT);
    ck_assert_msg(strstr(err.text, "too slow") != NULL, "%s", err.text);
    ck_assert_int_lt(now_ms() - t0, 3000);     /* 1 s + 20000 B at 64 KiB/s */
    ck_assert_uint_gt(len, 0);
    free(got);
    free(data);
    tn_close(c);
}
END_TEST

/* ---- plain: sizes and payload faults ---- */

START_TEST(test_tentacle_size_larger_than_payload_is_cut)
{
    struct peer *p = start_peer("-I", "--wrong-size", "+5", "--idle-ms", "300", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    char *data = content(3000, 4), *got;
    size_t len;

    put("a.1.data", data, 3000);
    r.timeout_ms = 3000;
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(get_bytes(c, TN_MV, "a.1.data", &got, &len, &err), TN_FAIL);
    ck_assert_msg(err.kind == TN_E_CUT || err.kind == TN_E_PROTOCOL, "%d %s", err.kind, err.text);
    ck_assert_msg(strstr(err.text, "3000/3005") != NULL, "%s", err.text);
    free(got);
    free(data);
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_size_smaller_than_payload_is_protocol)
{
    struct peer *p = start_peer("-I", "--wrong-size", "-5", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };
    char *data = content(3000, 5), *got;
    size_t len;
    int rc;

    put("a.1.data", data, 3000);
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    rc = get_bytes(c, TN_MV, "a.1.data", &got, &len, &err);
    if (rc == TN_OK)                    /* the extra bytes came late: the next call sees them */
        rc = ls(c, &ns, NULL, NULL, &err);
    ck_assert_int_eq(rc, TN_FAIL);
    assert_kind(err, TN_E_PROTOCOL);
    free_names(&ns);
    free(got);
    free(data);
    tn_close(c);
}
END_TEST

static const char *const bad_sizes[] = { "2^64", "neg", "nonnum" };

START_TEST(test_tentacle_malformed_size_is_protocol)
{
    struct peer *p = start_peer("-I", "--wrong-size", bad_sizes[_i], (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct sink s = new_sink();

    put("a.1.data", "abc\n", 4);
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(tn_get(c, TN_RECV, "a.1.data", sink_to, &s, NULL, &err), TN_FAIL);
    assert_kind(err, TN_E_PROTOCOL);
    ck_assert_int_eq(s.calls, 0);
    ck_assert(!tn_alive(c));
    close(s.fd);
    tn_close(c);
    ck_assert(tu_exists(storage, "a.1.data"));
}
END_TEST

START_TEST(test_tentacle_huge_reply_line_is_protocol)
{
    struct peer *p = start_peer("-I", "--huge-line", "33554432", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct sink s = new_sink();

    put("a.1.data", "abc\n", 4);
    struct rusage before, after;

    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    getrusage(RUSAGE_SELF, &before);
    ck_assert_int_eq(tn_get(c, TN_MV, "a.1.data", sink_to, &s, NULL, &err), TN_FAIL);
    getrusage(RUSAGE_SELF, &after);
    assert_kind(err, TN_E_PROTOCOL);
    ck_assert_msg(strstr(err.text, "256") != NULL, "%s", err.text);
    ck_assert_int_lt(after.ru_maxrss - before.ru_maxrss, 8 * 1024);     /* KiB */
    ck_assert_int_eq(s.calls, 0);
    close(s.fd);
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_size_over_max_is_declined_and_kept)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct sink s = new_sink();
    char *data = content(5000, 6);
    uint64_t size = 0;

    put("big.1.data", data, 5000);
    r.max_file_size = 4999;
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(tn_get(c, TN_MV, "big.1.data", sink_to, &s, &size, &err), TN_FILE);
    assert_kind(err, TN_F_TOO_BIG);
    ck_assert_uint_eq(size, 5000);
    ck_assert_int_eq(s.calls, 0);
    ck_assert(!tn_alive(c));            /* a decline closes */
    tn_close(c);
    stop_peer(p);                       /* all its connections are done now */
    ck_assert(tu_exists(storage, "big.1.data"));
    ck_assert_uint_eq(log_count(p, "ack \"MV NO\""), 1);
    ck_assert_uint_eq(log_count(p, "unlinked"), 0);
    close(s.fd);
    free(data);
}
END_TEST

START_TEST(test_tentacle_sink_decline_keeps_the_file)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct sink s = { .fd = TN_SINK_DECLINE };

    put("a.1.data", "abc\n", 4);
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(tn_get(c, TN_MV, "a.1.data", sink_to, &s, NULL, &err), TN_FILE);
    assert_kind(err, TN_F_REFUSED);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_uint_eq(s.size, 4);
    ck_assert(!tn_alive(c));
    tn_close(c);
    stop_peer(p);
    ck_assert(tu_exists(storage, "a.1.data"));
}
END_TEST

START_TEST(test_tentacle_discard_sink_reads_and_drops)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct sink s = { .fd = TN_SINK_DISCARD };
    struct names ns = { .n = 0 };
    char *data = content(9000, 7);

    put("a.1.data", data, 9000);
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(tn_get(c, TN_MV, "a.1.data", sink_to, &s, NULL, &err), TN_OK);
    ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_OK);   /* still in step */
    ck_assert(!has_name(&ns, "a.1.data"));
    free_names(&ns);
    tn_close(c);
    free(data);
}
END_TEST

START_TEST(test_tentacle_close_mid_payload_is_cut)
{
    struct peer *p = start_peer("-I", "--drop-after", "1000", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    char *data = content(5000, 8), *got;
    size_t len;

    put("a.1.data", data, 5000);
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(get_bytes(c, TN_MV, "a.1.data", &got, &len, &err), TN_FAIL);
    assert_kind(err, TN_E_CUT);
    ck_assert_msg(strstr(err.text, "a.1.data cut at ") && strstr(err.text, "/5000"), "%s",
                  err.text);
    ck_assert_uint_lt(len, 5000);
    ck_assert(!tn_alive(c));
    free(got);
    free(data);
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_local_write_failure_is_local)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct sink s = { .fd = open("/dev/null", O_RDONLY) };  /* writes fail: EBADF */

    put("a.1.data", "abc\n", 4);
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(tn_get(c, TN_RECV, "a.1.data", sink_to, &s, NULL, &err), TN_FAIL);
    assert_kind(err, TN_E_LOCAL);
    close(s.fd);
    tn_close(c);
}
END_TEST

/* ---- plain: SEND ---- */

START_TEST(test_tentacle_send_stores_the_file)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    char *data = content(10000, 9), *stored;
    int fd = tu_fd_with(data, 10000);

    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_msg(tn_send(c, "up.conf", fd, 10000, &err) == TN_OK, "%s", err.text);
    ck_assert(tn_alive(c));
    stored = tu_read(storage, "up.conf");
    ck_assert_ptr_nonnull(stored);
    ck_assert_mem_eq(stored, data, 10000);
    free(stored);
    ck_assert_int_eq(tn_send(c, "empty.conf", fd, 0, &err), TN_FILE);
    assert_kind(err, TN_F_TOO_BIG);
    ck_assert(tn_alive(c));
    close(fd);
    tn_close(c);
    free(data);
    ck_assert_uint_eq(log_count(p, "empty.conf"), 0);   /* refused locally */
}
END_TEST

START_TEST(test_tentacle_send_to_existing_without_o_is_exists)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    int fd = tu_fd_with("new\n", 4);
    char *kept;

    put("a.conf", "old\n", 4);
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(tn_send(c, "a.conf", fd, 4, &err), TN_FILE);
    assert_kind(err, TN_F_EXISTS);
    ck_assert_msg(strstr(err.text, "-o") != NULL, "%s", err.text);
    ck_assert(tn_alive(c));
    ck_assert_msg(tn_send(c, "b.conf", fd, 4, &err) == TN_OK, "%s", err.text);
    kept = tu_read(storage, "a.conf");
    ck_assert_str_eq(kept, "old\n");
    free(kept);
    close(fd);
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_send_over_dash_m_is_too_big)
{
    struct peer *p = start_peer("-I", "-m", "100", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    int fd = tu_fd_with(NULL, 1000);

    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(tn_send(c, "big.conf", fd, 1000, &err), TN_FILE);
    assert_kind(err, TN_F_TOO_BIG);
    ck_assert(tn_alive(c));
    ck_assert(!tu_exists(storage, "big.conf"));
    close(fd);
    tn_close(c);
}
END_TEST

START_TEST(test_tentacle_send_cut_after_data_is_cut)
{
    struct peer *p = start_peer("-I", "--send-fail", "after_data", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    int fd = tu_fd_with(NULL, 3000);

    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(tn_send(c, "x.conf", fd, 3000, &err), TN_FAIL);
    assert_kind(err, TN_E_CUT);
    ck_assert(!tn_alive(c));
    close(fd);
    tn_close(c);
}
END_TEST

/* Each MV line is one write() without TCP_NODELAY on the remote; without
 * TCP_QUICKACK after every read each MV waits ~40 ms for a delayed ACK. */
START_TEST(test_tentacle_mv_does_not_wait_for_delayed_acks)
{
    struct peer *p = _i == 0 ? start_peer("-I", (char *)NULL)
                             : tls_peer("server.pem", "server.key", NULL, NULL, NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct sink s = { .fd = TN_SINK_DISCARD };
    char line[40] = "<data><module>cpu</module></data>    \n", *data = malloc(3933), name[32];
    long long t0;

    for (size_t i = 0; i < 3933; i++)
        data[i] = line[i % (sizeof(line) - 1)];
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "a.%d.data", i);
        put(name, data, 3933);
    }
    r.tls = _i == 0 ? NULL : cred;
    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    t0 = now_ms();
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "a.%d.data", i);
        ck_assert_msg(tn_get(c, TN_MV, name, sink_to, &s, NULL, &err) == TN_OK, "%s", err.text);
    }
    /* 25 delayed ACKs would take a second; quick ACKs take milliseconds */
    ck_assert_int_lt(now_ms() - t0, 500);
    tn_close(c);
    tls_cred_free(cred);
    free(data);
}
END_TEST

/* ---- lock-step ---- */

START_TEST(test_tentacle_commands_are_lock_step)
{
    struct peer *p = start_peer("-I", "-o", (char *)NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };
    char name[32], *data = content(4000, 10), *got;
    int fd = tu_fd_with(data, 4000);
    size_t len;

    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "agent.%d.data", i);
        put(name, data, 1000 + (size_t)i * 150);
    }
    ck_assert_int_eq(tn_open(&r, &c, &err), TN_OK);
    ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_OK);
    ck_assert_uint_eq(ns.n, 20);
    for (size_t i = 0; i < ns.n; i++) {
        ck_assert_int_eq(get_bytes(c, TN_RECV, ns.v[i], &got, &len, &err), TN_OK);
        free(got);
        ck_assert_int_eq(get_bytes(c, TN_MV, ns.v[i], &got, &len, &err), TN_OK);
        free(got);
    }
    ck_assert_int_eq(tn_send(c, "s.conf", fd, 4000, &err), TN_OK);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    ck_assert_int_eq(tn_send(c, "s.conf", fd, 4000, &err), TN_OK);
    free_names(&ns);
    ck_assert_int_eq(ls(c, &ns, NULL, NULL, &err), TN_OK);
    ck_assert_uint_eq(ns.n, 1);         /* s.conf: no -i rules here */
    free_names(&ns);
    tn_close(c);
    stop_peer(p);
    ck_assert_uint_eq(log_count(p, "early-input"), 0);
    ck_assert_uint_eq(log_count(p, "pipelined"), 0);
    ck_assert_uint_eq(log_count(p, " cmd \""), 1 + 40 + 2 + 1 + 1);  /* + QUIT */
    ck_assert_uint_eq(log_count(p, "cmd \"QUIT\""), 1);
    close(fd);
    free(data);
}
END_TEST

/* ---- TLS ---- */

START_TEST(test_tentacle_tls_mutual_drain_fills_facts)
{
    struct peer *p = tls_peer("server.pem", "server.key", "ca.pem", NULL, NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, "client.pem", "client.key");
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };
    const struct tls_facts *f;
    char *data = content(6000, 11), *got;
    size_t len;

    put("a.1.data", data, 6000);
    r.tls = cred;
    r.verify_name = addr;
    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    f = tn_tls(c);
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->version, "TLS1.3");
    ck_assert(f->verified);
    ck_assert_msg(strstr(f->subject, "CN=localhost") != NULL, "%s", f->subject);
    ck_assert(f->cipher[0] != '\0');
    ck_assert(f->peer_expiry > time(NULL));
    ck_assert_msg(ls(c, &ns, NULL, NULL, &err) == TN_OK, "%s", err.text);
    ck_assert(has_name(&ns, "a.1.data"));
    free_names(&ns);
    ck_assert_int_eq(get_bytes(c, TN_RECV, "a.1.data", &got, &len, &err), TN_OK);
    ck_assert_mem_eq(got, data, 6000);
    free(got);
    ck_assert_int_eq(get_bytes(c, TN_MV, "a.1.data", &got, &len, &err), TN_OK);
    ck_assert_uint_eq(len, 6000);
    ck_assert_mem_eq(got, data, 6000);
    free(got);
    ck_assert_msg(ls(c, &ns, NULL, NULL, &err) == TN_OK, "%s", err.text);
    ck_assert(!has_name(&ns, "a.1.data"));
    free_names(&ns);
    tn_close(c);
    stop_peer(p);
    ck_assert(!tu_exists(storage, "a.1.data"));
    ck_assert_uint_eq(log_count(p, "client-cert=yes"), 1);
    ck_assert_uint_eq(log_count(p, "early-input"), 0);
    tls_cred_free(cred);
    free(data);
}
END_TEST

START_TEST(test_tentacle_tls12_with_password_works)
{
    struct peer *p = start_peer("-I", "-x", "secret", "-e", pki_file("server.pem"), "-k",
                                pki_file("server.key"), "--tls-fault", "1.2only", (char *)NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };
    struct names ns = { .n = 0 };

    r.tls = cred;
    r.password = "secret";
    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    ck_assert_str_eq(tn_tls(c)->version, "TLS1.2");
    ck_assert(tn_tls(c)->verified);
    ck_assert_msg(ls(c, &ns, NULL, NULL, &err) == TN_OK, "%s", err.text);
    free_names(&ns);
    tn_close(c);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_tls_password_right_and_wrong)
{
    struct peer *p = start_peer("-I", "-x", "secret", "-e", pki_file("server.pem"), "-k",
                                pki_file("server.key"), (char *)NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.tls = cred;
    r.password = "secret";
    ck_assert_msg(first_contact(&r, &err) == TN_OK, "%s", err.text);
    r.password = "wrong";
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_AUTH);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_tls_without_client_cert_is_cert_required)
{
    struct peer *p = tls_peer("server.pem", "server.key", "ca.pem", NULL, NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.tls = cred;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_CERT_REQUIRED);
    ck_assert_msg(strstr(err.text, "sync_cert") != NULL, "%s", err.text);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_tls12_without_client_cert_is_cert_required)
{
    struct peer *p = tls_peer("server.pem", "server.key", "ca.pem", "--tls-fault", "1.2only");
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.tls = cred;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_CERT_REQUIRED);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_tls_client_cert_of_other_ca_is_unknown_ca)
{
    struct peer *p = tls_peer("server.pem", "server.key", "ca.pem", NULL, NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, "client-ca2.pem", "client-ca2.key");
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.tls = cred;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_UNKNOWN_CA);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_tls_private_client_cert_without_dash_f_is_unknown_ca)
{
    struct peer *p = tls_peer("server.pem", "server.key", NULL, NULL, NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, "client.pem", "client.key");
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.tls = cred;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_UNKNOWN_CA);
    tls_cred_free(cred);
}
END_TEST

/* server certificates our sync_ca must refuse, and a word of the reason */
static const struct {
    const char *cert, *key, *reason;
} untrusted_servers[] = {
    { "server-ca2.pem", "server-ca2.key", "not trusted" },  /* other CA */
    { "expired.pem", "expired.key", "expired" },
};

START_TEST(test_tentacle_tls_untrusted_server_is_refused_with_reason)
{
    struct peer *p = tls_peer(untrusted_servers[_i].cert,
                              untrusted_servers[_i].key, NULL, NULL, NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.tls = cred;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_UNTRUSTED);
    ck_assert_msg(strstr(err.text, untrusted_servers[_i].reason) != NULL,
                  "%s: %s", untrusted_servers[_i].cert, err.text);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_tls_revoked_server_is_untrusted_only_with_crl)
{
    struct peer *p = tls_peer("revoked.pem", "revoked.key", NULL, NULL, NULL);
    struct tls_cred *with = load_cred("ca.pem", "crl.pem", NULL, NULL);
    struct tls_cred *without = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.tls = without;
    ck_assert_msg(first_contact(&r, &err) == TN_OK, "%s", err.text);
    r.tls = with;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_UNTRUSTED);
    ck_assert_msg(strstr(err.text, "revoked") != NULL, "%s", err.text);
    tls_cred_free(with);
    tls_cred_free(without);
}
END_TEST

START_TEST(test_tentacle_tls_wrong_name_fails_only_when_checked)
{
    struct peer *p = tls_peer("wrongname.pem", "wrongname.key", NULL, NULL, NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.tls = cred;
    r.verify_name = addr;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_UNTRUSTED);
    r.verify_name = NULL;
    ck_assert_msg(first_contact(&r, &err) == TN_OK, "%s", err.text);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_tls_without_ca_is_unverified)
{
    struct peer *p = tls_peer("server-ca2.pem", "server-ca2.key", NULL, NULL, NULL);
    struct tls_cred *cred = load_cred(NULL, NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_conn *c = NULL;
    struct tn_error err = { 0 };

    r.tls = cred;
    ck_assert_msg(tn_open(&r, &c, &err) == TN_OK, "%s", err.text);
    ck_assert(!tn_tls(c)->verified);
    ck_assert(tn_tls(c)->subject[0] != '\0');
    tn_close(c);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_plain_client_to_tls_port_is_needs_tls)
{
    struct peer *p = tls_peer("server.pem", "server.key", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_NEEDS_TLS);
    r.password = "secret";
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_NEEDS_TLS);
}
END_TEST

START_TEST(test_tentacle_tls_client_to_plain_port_fails_in_time)
{
    struct peer *p = start_peer("-I", (char *)NULL);
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };
    long long t0 = now_ms();

    r.tls = cred;
    r.timeout_ms = 500;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    ck_assert_msg(err.kind == TN_E_NOT_TLS || err.kind == TN_E_TIMEOUT, "%d %s", err.kind,
                  err.text);
    ck_assert_int_lt(now_ms() - t0, 2500);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_tls_stalled_handshake_fails_in_time)
{
    struct peer *p = tls_peer("server.pem", "server.key", NULL, "--stall", "handshake");
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };
    long long t0 = now_ms();

    r.tls = cred;
    r.timeout_ms = 400;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    ck_assert_msg(err.kind == TN_E_NOT_TLS || err.kind == TN_E_TIMEOUT, "%d %s", err.kind,
                  err.text);
    ck_assert_int_lt(now_ms() - t0, 2500);
    tls_cred_free(cred);
}
END_TEST

START_TEST(test_tentacle_tls_alert_after_handshake_is_tls_error)
{
    struct peer *p = tls_peer("server.pem", "server.key", NULL, "--tls-fault", "alert");
    struct tls_cred *cred = load_cred("ca.pem", NULL, NULL, NULL);
    struct tn_remote r = remote(p);
    struct tn_error err = { 0 };

    r.tls = cred;
    ck_assert_int_eq(first_contact(&r, &err), TN_FAIL);
    assert_kind(err, TN_E_TLS);
    ck_assert_msg(strstr(err.text, "nternal") != NULL, "%s", err.text);
    tls_cred_free(cred);
}
END_TEST

/* ---- suite ---- */

static Suite *tentacle_suite(void)
{
    Suite *s = suite_create("ss_tentacle");
    TCase *units = tcase_create("units");
    TCase *plain = tcase_create("plain");
    TCase *tls = tcase_create("tls");

    tcase_add_test(units, test_tentacle_pass_digest_is_md5_of_raw_md5);
    tcase_add_loop_test(units, test_tentacle_name_valid_follows_stock_rules, 0,
                        (int)(sizeof(name_cases) / sizeof(name_cases[0])));
    tcase_add_test(units, test_tentacle_name_valid_bounds_length_at_255);
    tcase_add_test(units, test_tls_cred_load_names_the_bad_file);
    tcase_add_test(units, test_tls_cred_load_gives_expiry_and_verification);
    suite_add_tcase(s, units);

    tcase_add_checked_fixture(plain, setup, teardown);
    tcase_set_timeout(plain, 15);
    tcase_add_test(plain, test_tentacle_drain_lists_moves_and_copies_exact_bytes);
    tcase_add_test(plain, test_tentacle_empty_file_ends_the_connection_after_the_ack);
    tcase_add_test(plain, test_tentacle_missing_file_is_a_file_error_and_the_connection_goes_on);
    tcase_add_test(plain, test_tentacle_ls_never_passes_evil_names);
    tcase_add_test(plain, test_tentacle_ls_max_names_counts_the_rest);
    tcase_add_test(plain, test_tentacle_ls_streams_a_long_listing);
    tcase_add_test(plain, test_tentacle_listing_over_64_mib_is_declined);
    tcase_add_test(plain, test_tentacle_right_password_gets_pass_ok);
    tcase_add_test(plain, test_tentacle_wrong_password_is_auth);
    tcase_add_test(plain, test_tentacle_missing_password_is_auth_after_probe);
    tcase_add_test(plain, test_tentacle_server_without_dash_I_is_no_list);
    tcase_add_test(plain, test_tentacle_nothing_listening_is_refused);
    tcase_add_test(plain, test_tentacle_unresolvable_host_is_resolve);
    tcase_add_test(plain, test_tentacle_idle_expired_connection_is_closed);
    tcase_add_test(plain, test_tentacle_idle_expiry_before_first_command_is_closed_not_no_list);
    tcase_add_test(plain, test_tentacle_busy_slots_are_no_answer);
    tcase_add_test(plain, test_tentacle_full_backlog_is_connect_timeout);
    tcase_add_test(plain, test_tentacle_first_reply_never_coming_is_no_answer);
    tcase_add_test(plain, test_tentacle_stalled_reply_times_out);
    tcase_add_test(plain, test_tentacle_stalled_payload_times_out);
    tcase_add_test(plain, test_tentacle_slow_drip_hits_the_transfer_deadline);
    tcase_add_test(plain, test_tentacle_size_larger_than_payload_is_cut);
    tcase_add_test(plain, test_tentacle_size_smaller_than_payload_is_protocol);
    tcase_add_loop_test(plain, test_tentacle_malformed_size_is_protocol, 0,
                        (int)(sizeof(bad_sizes) / sizeof(bad_sizes[0])));
    tcase_add_test(plain, test_tentacle_huge_reply_line_is_protocol);
    tcase_add_test(plain, test_tentacle_size_over_max_is_declined_and_kept);
    tcase_add_test(plain, test_tentacle_sink_decline_keeps_the_file);
    tcase_add_test(plain, test_tentacle_discard_sink_reads_and_drops);
    tcase_add_test(plain, test_tentacle_close_mid_payload_is_cut);
    tcase_add_test(plain, test_tentacle_local_write_failure_is_local);
    tcase_add_test(plain, test_tentacle_send_stores_the_file);
    tcase_add_test(plain, test_tentacle_send_to_existing_without_o_is_exists);
    tcase_add_test(plain, test_tentacle_send_over_dash_m_is_too_big);
    tcase_add_test(plain, test_tentacle_send_cut_after_data_is_cut);
    tcase_add_test(plain, test_tentacle_commands_are_lock_step);
    tcase_add_loop_test(plain, test_tentacle_mv_does_not_wait_for_delayed_acks, 0, 2);
    suite_add_tcase(s, plain);

    tcase_add_checked_fixture(tls, setup, teardown);
    tcase_set_timeout(tls, 15);
    tcase_add_test(tls, test_tentacle_tls_mutual_drain_fills_facts);
    tcase_add_test(tls, test_tentacle_tls12_with_password_works);
    tcase_add_test(tls, test_tentacle_tls_password_right_and_wrong);
    tcase_add_test(tls, test_tentacle_tls_without_client_cert_is_cert_required);
    tcase_add_test(tls, test_tentacle_tls12_without_client_cert_is_cert_required);
    tcase_add_test(tls, test_tentacle_tls_client_cert_of_other_ca_is_unknown_ca);
    tcase_add_test(tls, test_tentacle_tls_private_client_cert_without_dash_f_is_unknown_ca);
    tcase_add_loop_test(tls, test_tentacle_tls_untrusted_server_is_refused_with_reason,
                        0, (int)(sizeof(untrusted_servers) / sizeof(untrusted_servers[0])));
    tcase_add_test(tls, test_tentacle_tls_revoked_server_is_untrusted_only_with_crl);
    tcase_add_test(tls, test_tentacle_tls_wrong_name_fails_only_when_checked);
    tcase_add_test(tls, test_tentacle_tls_without_ca_is_unverified);
    tcase_add_test(tls, test_tentacle_plain_client_to_tls_port_is_needs_tls);
    tcase_add_test(tls, test_tentacle_tls_client_to_plain_port_fails_in_time);
    tcase_add_test(tls, test_tentacle_tls_stalled_handshake_fails_in_time);
    tcase_add_test(tls, test_tentacle_tls_alert_after_handshake_is_tls_error);
    suite_add_tcase(s, tls);
    return s;
}

/* make_pki - the run directory, and make-pki.sh into its pki/ with addr as
 * an IP SAN of the server certificates */
static int make_pki(const char *srcdir)
{
    const char *base = getenv("TMPDIR");
    char script[PATH_MAX];
    int status;
    pid_t pid;

    snprintf(run_dir, sizeof(run_dir), "%s/tn-check.XXXXXX", base != NULL && *base ? base : "/tmp");
    if (mkdtemp(run_dir) == NULL)
        return -1;
    snprintf(pki, sizeof(pki), "%s/pki", run_dir);
    snprintf(script, sizeof(script), "%s/peer/make-pki.sh", srcdir);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        execl("/bin/sh", "sh", script, pki, addr, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

/* main - the PKI, then the suite */
int main(void)
{
    const char *srcdir = getenv("TEST_SRCDIR");
    int rc;

    peer_bin_dir = getenv("PEER_BIN_DIR");
    if (peer_bin_dir == NULL || *peer_bin_dir == '\0')
        peer_bin_dir = "t/peer";
    if (srcdir == NULL || *srcdir == '\0')
        srcdir = "t";
    snprintf(addr, sizeof(addr), "127.0.0.%d", (int)(getpid() % 200) + 20);
    if (make_pki(srcdir) < 0) {
        fprintf(stderr, "check_ss_tentacle: %s/peer/make-pki.sh failed\n", srcdir);
        tu_rmtree(run_dir);
        return 99;
    }
    rc = tu_run_suite(tentacle_suite());
    tu_rmtree(run_dir);
    return rc;
}
