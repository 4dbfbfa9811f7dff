/* check_hostconf.c - pandora_hostd.conf: host settings and service lists. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostconf.h"
#include "testutil.h"

#define SECRET "hunter2-secret"

/* A syncserver-like section: remotes = ( { address = "..."; ... } ); */
struct remote {
    char *address;
    unsigned port;
    char *password;
    unsigned connections;
    unsigned interval;
    char *ca;
    int delivery;
    bool verify;
    uint64_t max_bytes;
};

struct ss_conf {
    unsigned unrelated;       /* keeps the list members off offset 0 */
    struct remote *remotes;
    size_t n_remotes;
};

static const char *const delivery_choices[] = { "safe", "fast", NULL };

static const struct pandora_conf_item remote_items[] = {
    { .key = "address", .type = PANDORA_CONF_STRING,
      .offset = offsetof(struct remote, address) },
    { .key = "port", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct remote, port), .min = 1, .max = 65535 },
    { .key = "password", .type = PANDORA_CONF_SECRET,
      .offset = offsetof(struct remote, password) },
    { .key = "connections", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct remote, connections), .def = "4", .min = 1,
      .max = 10 },
    { .key = "interval", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct remote, interval), .min = 1, .max = 86400 },
    { .key = "ca", .type = PANDORA_CONF_PATH,
      .offset = offsetof(struct remote, ca) },
    { .key = "delivery", .type = PANDORA_CONF_ENUM,
      .offset = offsetof(struct remote, delivery), .def = "safe",
      .choices = delivery_choices },
    { .key = "verify", .type = PANDORA_CONF_BOOL,
      .offset = offsetof(struct remote, verify) },
    { .key = "max_bytes", .type = PANDORA_CONF_SIZE,
      .offset = offsetof(struct remote, max_bytes) },
    PANDORA_CONF_ITEMS_END
};

static const struct pandora_conf_list ss_lists[] = {
    { .name = "remotes", .items = remote_items,
      .elem_size = sizeof(struct remote),
      .array_offset = offsetof(struct ss_conf, remotes),
      .count_offset = offsetof(struct ss_conf, n_remotes) },
    PANDORA_CONF_LISTS_END
};

static char *tmpdir;
static char *path;            /* tmpdir/pandora_hostd.conf */

static void setup(void)
{
    tmpdir = tu_tmpdir();
    ck_assert_int_ge(asprintf(&path, "%s/pandora_hostd.conf", tmpdir), 0);
}

static void teardown(void)
{
    tu_rmtree(tmpdir);
    free(tmpdir);
    free(path);
}

/* load - write text as the host file and read it; fails the test on error */
static struct hostconf *load(const char *text)
{
    struct pandora_error err = { "" };
    struct hostconf *hc = NULL;

    tu_write(NULL, path, text);
    ck_assert_msg(hostconf_load(path, true, &hc, &err) == 0, "%s", err.text);
    ck_assert_ptr_nonnull(hc);
    return hc;
}

/* apply - the remotes list of section syncserver; fails the test on error */
static void apply(const struct hostconf *hc, struct ss_conf *c)
{
    struct pandora_error err = { "" };

    memset(c, 0, sizeof(*c));
    ck_assert_msg(hostconf_apply_lists(hc, "syncserver", ss_lists, c, &err)
                  == 0, "%s", err.text);
}

static char *capture(void (*fn)(FILE *fp, const void *arg), const void *arg)
{
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);

    fn(fp, arg);
    fclose(fp);
    return out;
}

static void print_host(FILE *fp, const void *hc)
{
    hostconf_print(fp, hc);
}

static void print_lists(FILE *fp, const void *c)
{
    hostconf_print_lists(fp, ss_lists, c, "  ");
}

START_TEST(test_hostconf_missing_optional_file_gives_the_defaults)
{
    struct pandora_error err = { "" };
    struct hostconf *hc = NULL;

    ck_assert_msg(hostconf_load(path, false, &hc, &err) == 0, "%s", err.text);
    ck_assert_ptr_null(hc->path);
    ck_assert_str_eq(hc->server_conf, PANDORACONFDIR "/pandora_server.conf");
    ck_assert_str_eq(hc->module_dir, MODULEDIR);
    ck_assert_ptr_null(hc->modules);
    ck_assert_uint_eq(hc->n_modules, 0);
    ck_assert_ptr_null(hc->log_file);
    ck_assert_uint_eq(hc->workers, HOSTCONF_DEFAULT_WORKERS);
    ck_assert_str_eq(hc->state_dir, STATEDIR);
    ck_assert_str_eq(hc->pid_file, RUNSTATEDIR "/pandora_hostd.pid");
    ck_assert_uint_eq(hc->stop_timeout, HOSTCONF_DEFAULT_STOP_TIMEOUT);
    ck_assert(hc->status.enabled);
    ck_assert_str_eq(hc->status.listen, "127.0.0.1");
    ck_assert_uint_eq(hc->status.port, HOSTCONF_DEFAULT_STATUS_PORT);
    ck_assert_ptr_null(hc->status.token_file);

    /* and a service finds no section: its lists stay empty */
    struct ss_conf c;
    apply(hc, &c);
    ck_assert_ptr_null(c.remotes);
    ck_assert_uint_eq(c.n_remotes, 0);
    hostconf_free(hc);
}
END_TEST

START_TEST(test_hostconf_missing_required_file_names_the_path)
{
    struct pandora_error err = { "" };
    struct hostconf *hc = NULL;

    ck_assert_int_eq(hostconf_load(path, true, &hc, &err), -ENOENT);
    ck_assert_ptr_null(hc);
    ck_assert_msg(strstr(err.text, path) != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "No such file") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_hostconf_every_setting_is_read)
{
    struct hostconf *hc = load(
        "server_conf = \"/srv/pandora/pandora_server.conf\";\n"
        "module_dir = \"/opt/pandora/modules\";\n"
        "modules = [ \"syncserver\", \"tick\" ];\n"
        "log_file = \"/var/log/pandora/pandora_hostd.log\";\n"
        "workers = 256;\n"
        "state_dir = \"/srv/state\";\n"
        "pid_file = \"/srv/run/hostd.pid\";\n"
        "stop_timeout = 600;\n"
        "status = {\n"
        "  enabled = false;\n"
        "  listen = \"0.0.0.0\";\n"
        "  port = 8080L;\n"
        "  token_file = \"/etc/pandora/status.token\";\n"
        "};\n");

    ck_assert_str_eq(hc->path, path);
    ck_assert_str_eq(hc->server_conf, "/srv/pandora/pandora_server.conf");
    ck_assert_str_eq(hc->module_dir, "/opt/pandora/modules");
    ck_assert_uint_eq(hc->n_modules, 2);
    ck_assert_str_eq(hc->modules[0], "syncserver");
    ck_assert_str_eq(hc->modules[1], "tick");
    ck_assert_str_eq(hc->log_file, "/var/log/pandora/pandora_hostd.log");
    ck_assert_uint_eq(hc->workers, 256);
    ck_assert_str_eq(hc->state_dir, "/srv/state");
    ck_assert_str_eq(hc->pid_file, "/srv/run/hostd.pid");
    ck_assert_uint_eq(hc->stop_timeout, 600);
    ck_assert(!hc->status.enabled);
    ck_assert_str_eq(hc->status.listen, "0.0.0.0");
    ck_assert_uint_eq(hc->status.port, 8080);
    ck_assert_str_eq(hc->status.token_file, "/etc/pandora/status.token");
    hostconf_free(hc);
}
END_TEST

START_TEST(test_hostconf_empty_strings_mean_stderr_and_no_token)
{
    struct hostconf *hc = load("log_file = \"\";\nstatus = { token_file = "
                               "\"\"; };\nmodules = [ ];\n");

    ck_assert_ptr_null(hc->log_file);
    ck_assert_ptr_null(hc->status.token_file);
    /* an empty module list loads nothing, unlike an absent one */
    ck_assert_ptr_nonnull(hc->modules);
    ck_assert_uint_eq(hc->n_modules, 0);
    ck_assert(hc->status.enabled);
    ck_assert_uint_eq(hc->status.port, 41180);
    hostconf_free(hc);
}
END_TEST

START_TEST(test_hostconf_include_is_relative_to_the_file)
{
    tu_write(tmpdir, "workers.conf", "workers = 3;\n");
    ck_assert_int_eq(chdir("/"), 0);   /* like a systemd service */
    struct hostconf *hc = load("@include \"workers.conf\"\n");

    ck_assert_uint_eq(hc->workers, 3);
    hostconf_free(hc);
}
END_TEST

START_TEST(test_hostconf_error_in_an_included_file_names_that_file)
{
    struct pandora_error err = { "" };
    struct hostconf *hc = NULL;

    tu_write(tmpdir, "extra.conf", "# extra\nworkers = 0;\n");
    tu_write(NULL, path, "stop_timeout = 5;\n@include \"extra.conf\"\n");
    ck_assert_int_eq(hostconf_load(path, true, &hc, &err), -EINVAL);
    ck_assert_msg(strstr(err.text, "extra.conf:2: workers") != NULL, "%s",
                  err.text);
}
END_TEST

START_TEST(test_hostconf_parse_reads_text_under_a_given_name)
{
    struct pandora_error err = { "" };
    struct hostconf *hc = NULL;

    ck_assert_msg(hostconf_parse("test.conf", "workers = 2;\n", &hc, &err)
                  == 0, "%s", err.text);
    ck_assert_uint_eq(hc->workers, 2);
    hostconf_free(hc);
    ck_assert_int_eq(hostconf_parse("test.conf", "\n\nworkers = 0;\n", &hc,
                                    &err), -EINVAL);
    ck_assert_msg(strstr(err.text, "test.conf:3: workers") != NULL, "%s",
                  err.text);
}
END_TEST

START_TEST(test_hostconf_print_shows_the_effective_settings)
{
    struct hostconf *hc = load("workers = 5;\nmodules = [ \"syncserver\" ];\n"
                               "status = { token_file = \"/etc/tok\"; };\n");
    char *out = capture(print_host, hc);

    ck_assert_msg(strstr(out, "  workers 5\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "  modules syncserver\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "  module_dir " MODULEDIR "\n") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "  status.port 41180\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "  status.token_file /etc/tok\n") != NULL, "%s",
                  out);
    ck_assert_msg(strstr(out, "  log_file (unset)\n") != NULL, "%s", out);
    free(out);
    hostconf_free(hc);
}
END_TEST

START_TEST(test_hostconf_lists_are_parsed_into_structs_with_counts)
{
    struct hostconf *hc = load(
        "syncserver = {\n"
        "  remotes = (\n"
        "    { address = \"10.142.50.10\"; },\n"
        "    { address = \"20.152.50.20\"; port = 41122; password = \""
        SECRET "\";\n"
        "      connections = 8; interval = 30; ca = \"/etc/pandora/ca2.pem\";\n"
        "      delivery = \"FAST\"; verify = true; max_bytes = 5000000000L; },\n"
        "    { address = \"host3\"; password = 1234; }\n"
        "  );\n"
        "};\n");
    struct ss_conf c;

    apply(hc, &c);
    ck_assert_uint_eq(c.n_remotes, 3);
    ck_assert_pstr_eq(c.remotes[0].address, "10.142.50.10");
    ck_assert_uint_eq(c.remotes[0].port, 0);          /* no default: 0 */
    ck_assert_ptr_null(c.remotes[0].password);
    ck_assert_uint_eq(c.remotes[0].connections, 4);   /* the default */
    ck_assert_int_eq(c.remotes[0].delivery, 0);
    ck_assert(!c.remotes[0].verify);
    ck_assert_pstr_eq(c.remotes[1].address, "20.152.50.20");
    ck_assert_uint_eq(c.remotes[1].port, 41122);
    ck_assert_pstr_eq(c.remotes[1].password, SECRET);
    ck_assert_uint_eq(c.remotes[1].connections, 8);
    ck_assert_uint_eq(c.remotes[1].interval, 30);
    ck_assert_pstr_eq(c.remotes[1].ca, "/etc/pandora/ca2.pem");
    ck_assert_int_eq(c.remotes[1].delivery, 1);
    ck_assert(c.remotes[1].verify);
    ck_assert_uint_eq(c.remotes[1].max_bytes, UINT64_C(5000000000));
    /* an unquoted number is taken as its text */
    ck_assert_pstr_eq(c.remotes[2].password, "1234");
    hostconf_free_lists(ss_lists, &c);
    ck_assert_ptr_null(c.remotes);
    ck_assert_uint_eq(c.n_remotes, 0);
    hostconf_free(hc);
}
END_TEST

START_TEST(test_hostconf_empty_list_and_absent_section_give_no_elements)
{
    struct hostconf *hc = load("syncserver = { remotes = ( ); };\n"
                               "other = { };\n");
    struct pandora_error err = { "" };
    struct ss_conf c;

    apply(hc, &c);
    ck_assert_ptr_null(c.remotes);
    ck_assert_uint_eq(c.n_remotes, 0);
    memset(&c, 0, sizeof(c));
    ck_assert_msg(hostconf_apply_lists(hc, "absent", ss_lists, &c, &err) == 0,
                  "%s", err.text);
    ck_assert_uint_eq(c.n_remotes, 0);
    /* a service without lists and an empty section is fine too */
    ck_assert_msg(hostconf_apply_lists(hc, "other", NULL, &c, &err) == 0,
                  "%s", err.text);
    hostconf_free(hc);
}
END_TEST

START_TEST(test_hostconf_print_lists_masks_secrets)
{
    struct hostconf *hc = load("syncserver = { remotes = ( { address = "
                               "\"10.0.0.1\"; password = \"" SECRET "\"; } "
                               "); };\n");
    struct ss_conf c;

    apply(hc, &c);
    char *out = capture(print_lists, &c);
    ck_assert_msg(strstr(out, "remotes #1\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "address 10.0.0.1\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "password ********\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "connections 4\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "hunter2") == NULL, "%s", out);
    free(out);
    hostconf_free_lists(ss_lists, &c);
    hostconf_free(hc);
}
END_TEST

START_TEST(test_hostconf_check_sections_accepts_known_services)
{
    struct pandora_error err = { "" };
    static const char *const services[] = { "tick", "syncserver" };
    struct hostconf *hc = load("workers = 2;\nstatus = { port = 1; };\n"
                               "syncserver = { remotes = (); };\n"
                               "tick = { };\n");

    ck_assert_msg(hostconf_check_sections(hc, services, 2, &err) == 0, "%s",
                  err.text);
    hostconf_free(hc);
}
END_TEST

START_TEST(test_hostconf_section_of_no_service_names_file_and_line)
{
    struct pandora_error err = { "" };
    static const char *const services[] = { "syncserver" };
    struct hostconf *hc = load("workers = 2;\n\nsyncserver = { };\n"
                               "syncsever = { remotes = (); };\n");

    ck_assert_int_eq(hostconf_check_sections(hc, services, 1, &err), -EINVAL);
    ck_assert_msg(strstr(err.text, "pandora_hostd.conf:4:") != NULL, "%s",
                  err.text);
    ck_assert_msg(strstr(err.text, "syncsever") != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "syncserver") != NULL, "%s", err.text);
    hostconf_free(hc);
}
END_TEST

/*
 * Bad host files. `line` is where the message must point; `word` is part
 * of what was expected (or of the complaint). list: the text loads, the
 * error comes from hostconf_apply_lists for section "syncserver".
 */
static const struct bad_host {
    const char *text;
    unsigned line;
    const char *word;
    bool list;
} bad_hosts[] = {
    { "workers = \"8\";\n", 1, "whole number", false },
    { "workers = 0;\n", 1, "from 1 to 256", false },
    { "\nworkers = 257;\n", 2, "from 1 to 256", false },
    { "workers = 8.5;\n", 1, "whole number", false },
    { "workers = -1;\n", 1, "whole number", false },
    { "stop_timeout = 601;\n", 1, "from 1 to 600", false },
    { "stop_timeout = true;\n", 1, "whole number", false },
    { "workers = 4;\nfoo = 1;\n", 2, "unknown setting 'foo'", false },
    { "modules_dir = \"/x\";\n", 1, "module_dir", false },
    { "server_conf = \"etc/pandora_server.conf\";\n", 1, "absolute", false },
    { "module_dir = \"modules\";\n", 1, "absolute", false },
    { "log_file = \"pandora_hostd.log\";\n", 1, "absolute", false },
    { "state_dir = 5;\n", 1, "absolute", false },
    { "pid_file = [ \"/run/x.pid\" ];\n", 1, "string", false },
    { "modules = [ \"tick\",\n  \"tick\" ];\n", 2, "twice", false },
    { "modules = [ \"../evil\" ];\n", 1, "plain module name", false },
    { "modules = [ \".hidden\" ];\n", 1, "plain module name", false },
    { "modules = [ \"\" ];\n", 1, "plain module name", false },
    { "modules = \"tick\";\n", 1, "array", false },
    { "modules = ( 1 );\n", 1, "name", false },
    { "status = {\n  port = 70000;\n};\n", 2, "from 1 to 65535", false },
    { "status = { port = \"41180\"; };\n", 1, "whole number", false },
    { "status = { enabled = 1; };\n", 1, "true or false", false },
    { "status = { enabled = \"yes\"; };\n", 1, "true or false", false },
    { "status = { listen = \"\"; };\n", 1, "non-empty", false },
    { "status = { token_file = \"token\"; };\n", 1, "absolute", false },
    { "status = {\n\n  prot = 1;\n};\n", 3, "unknown setting 'status.prot'",
      false },
    { "status = 5;\n", 1, "group", false },
    { "workers = 4;\nmodules = [ \"tick\" ;\n", 2, "syntax error", false },
    { "workers = ;\n", 1, "syntax error", false },
    { "workers = 1;\nworkers = 2;\n", 2, "duplicate", false },
    { "workers = 4;\nstop_timeout = 5 5;\n", 2, "syntax error", false },
    { "@include \"nonexistent.conf\"\n", 1, "include", false },
    { "syncserver = { remotes = ( { adress = \"x\"; } ); };\n", 1,
      "unknown key 'adress'", true },
    { "syncserver = { remotes = (\n  { address = \"x\"; },\n"
      "  { port = \"41122\"; } ); };\n", 3, "whole number", true },
    { "syncserver = { remotes = (\n { port = 70000; } ); };\n", 2,
      "from 1 to 65535", true },
    { "syncserver = { remotes = ( { connections = 0; } ); };\n", 1,
      "from 1 to 10", true },
    { "syncserver = { remotes = ( { password = [ \"" SECRET "\" ]; } ); };\n",
      1, "string", true },
    { "syncserver = { remotes = ( { password = \"\"; } ); };\n", 1,
      "non-empty", true },
    { "syncserver = { remotes = ( { ca = \"ssl/ca.pem\"; } ); };\n", 1,
      "absolute", true },
    { "syncserver = {\n  remotes = { address = \"x\"; };\n};\n", 2, "list",
      true },
    { "syncserver = { remotes = ( 5 ); };\n", 1, "group", true },
    { "syncserver = {\n  remote = ( );\n};\n", 2,
      "unknown setting 'syncserver.remote'", true },
    { "syncserver = { remotes = ( { delivery = \"slow\"; } ); };\n", 1,
      "one of safe, fast", true },
    { "syncserver = { remotes = ( { verify = \"yes\"; } ); };\n", 1,
      "true or false", true },
    { "syncserver = { remotes = ( { verify = 1; } ); };\n", 1,
      "true or false", true },
    { "syncserver = { remotes = ( { port = true; } ); };\n", 1,
      "whole number", true },
    { "syncserver = { remotes = ( { address = false; } ); };\n", 1,
      "string", true },
    { "syncserver = { remotes = ( { interval = 1.5; } ); };\n", 1,
      "whole number", true },
    { "syncserver = { remotes = ( { max_bytes = -1L; } ); };\n", 1,
      "whole number", true },
    { "syncserver = 1;\n", 1, "unknown setting 'syncserver'", false },
};

START_TEST(test_hostconf_bad_input_names_file_line_and_form)
{
    const struct bad_host *b = &bad_hosts[_i];
    struct pandora_error err = { "" };
    struct hostconf *hc = NULL;
    char want[64];
    int rc;

    tu_write(NULL, path, b->text);
    rc = hostconf_load(path, true, &hc, &err);
    if (b->list) {
        struct ss_conf c;
        ck_assert_msg(rc == 0, "%s", err.text);
        memset(&c, 0, sizeof(c));
        rc = hostconf_apply_lists(hc, "syncserver", ss_lists, &c, &err);
        /* nothing stays allocated after a refused list */
        ck_assert_ptr_null(c.remotes);
        ck_assert_uint_eq(c.n_remotes, 0);
        hostconf_free(hc);
    } else {
        ck_assert_ptr_null(hc);
    }
    ck_assert_int_eq(rc, -EINVAL);
    snprintf(want, sizeof(want), "pandora_hostd.conf:%u:", b->line);
    ck_assert_msg(strstr(err.text, tmpdir) != NULL, "no file: %s", err.text);
    ck_assert_msg(strstr(err.text, want) != NULL, "want '%s': %s", want,
                  err.text);
    ck_assert_msg(strstr(err.text, b->word) != NULL, "want '%s': %s",
                  b->word, err.text);
    ck_assert_msg(strstr(err.text, "hunter2") == NULL, "secret: %s",
                  err.text);
}
END_TEST

static Suite *hostconf_suite(void)
{
    Suite *s = suite_create("hostconf");
    TCase *tc = tcase_create("host");

    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_hostconf_missing_optional_file_gives_the_defaults);
    tcase_add_test(tc, test_hostconf_missing_required_file_names_the_path);
    tcase_add_test(tc, test_hostconf_every_setting_is_read);
    tcase_add_test(tc, test_hostconf_empty_strings_mean_stderr_and_no_token);
    tcase_add_test(tc, test_hostconf_include_is_relative_to_the_file);
    tcase_add_test(tc, test_hostconf_error_in_an_included_file_names_that_file);
    tcase_add_test(tc, test_hostconf_parse_reads_text_under_a_given_name);
    tcase_add_test(tc, test_hostconf_print_shows_the_effective_settings);
    suite_add_tcase(s, tc);

    tc = tcase_create("sections");
    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_hostconf_lists_are_parsed_into_structs_with_counts);
    tcase_add_test(tc,
                   test_hostconf_empty_list_and_absent_section_give_no_elements);
    tcase_add_test(tc, test_hostconf_print_lists_masks_secrets);
    tcase_add_test(tc, test_hostconf_check_sections_accepts_known_services);
    tcase_add_test(tc, test_hostconf_section_of_no_service_names_file_and_line);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_hostconf_bad_input_names_file_line_and_form,
                        0, sizeof(bad_hosts) / sizeof(bad_hosts[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(hostconf_suite());
}
