/* hosttest.c - temporary host setups for check_module and check_service. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "host.h"
#include "hosttest.h"
#include "log.h"
#include "status.h"
#include "testutil.h"

static char *ht_join(const char *dir, const char *name)
{
    char *p = NULL;

    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

void ht_setup(struct hosttest *ht)
{
    struct pandora_error err = { "" };

    ht->dir = tu_tmpdir();
    ht->incoming = ht_join(ht->dir, "in");
    ht->server = ht_join(ht->dir, "server.conf");
    ht->hostconf = ht_join(ht->dir, "hostd.conf");
    ht->log = ht_join(ht->dir, "log");
    ck_assert_int_eq(mkdir(ht->incoming, 0750), 0);
    ck_assert_msg(log_open(ht->log, &err) == 0, "%s", err.text);
}

void ht_teardown(struct hosttest *ht)
{
    log_open(NULL, NULL);
    tu_rmtree(ht->dir);
    free(ht->dir);
    free(ht->incoming);
    free(ht->server);
    free(ht->hostconf);
    free(ht->log);
}

void ht_write_server(struct hosttest *ht, const char *body)
{
    char *text = NULL;

    ck_assert_int_ge(asprintf(&text, "incomingdir %s\n%sverbosity 10\n", ht->incoming,
                              body), 0);
    tu_write(NULL, ht->server, text);
    free(text);
}

void ht_write_hostconf(struct hosttest *ht, const char *modules,
                       const char *extra)
{
    char *text = NULL;
    const char *mdir = getenv("TEST_MODULEDIR");

    ck_assert_msg(mdir != NULL, "TEST_MODULEDIR is not set (run via make "
                  "check)");
    ck_assert_int_ge(asprintf(&text,
                              "module_dir = \"%s\";\n"
                              "modules = [ %s ];\n"
                              "state_dir = \"%s/state\";\n"
                              "pid_file = \"%s/pid\";\n"
                              "workers = 4;\n"
                              "stop_timeout = 5;\n"
                              "%s\n",
                              mdir, modules, ht->dir, ht->dir,
                              extra ? extra : ""), 0);
    tu_write(NULL, ht->hostconf, text);
    free(text);
}

struct host *ht_build(struct hosttest *ht)
{
    struct pandora_error err = { "" };
    struct host_paths paths = { ht->server, ht->hostconf, true };
    struct host *h = NULL;

    ck_assert_msg(host_build(&paths, &h, &err) == 0, "%s", err.text);
    return h;
}

bool ht_log_has(struct hosttest *ht, const char *text)
{
    log_flush();
    char *log = tu_read(NULL, ht->log);
    bool found = log != NULL && strstr(log, text) != NULL;

    free(log);
    return found;
}

char *ht_status_json(struct host *h)
{
    struct pandora_status *st = host_status(h);
    char *json = NULL;
    size_t len = 0;

    ck_assert_int_eq(status_to_json(st, time(NULL), &json, &len), 0);
    status_free(st);
    return json;
}

bool ht_wait_for(bool (*cond)(void *arg), void *arg, unsigned seconds)
{
    for (unsigned i = 0; i < seconds * 100u; i++) {
        if (cond(arg))
            return true;
        usleep(10000);
    }
    return cond(arg);
}
