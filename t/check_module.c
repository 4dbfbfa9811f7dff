/* check_module.c - loading modules: ABI checks, broken modules, and a host
 * that skips what is broken and runs the rest. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "host.h"
#include "hosttest.h"
#include "module.h"
#include "testutil.h"

static char *mod_path(const char *name)
{
    char *p = NULL;

    ck_assert_int_ge(asprintf(&p, "%s/%s.so", getenv("TEST_MODULEDIR"), name),
                     0);
    return p;
}

/* mod_load - module_load's return code, and its message in err */
static int mod_load(const char *name, struct pandora_error *err)
{
    char *p = mod_path(name);
    struct module *m = NULL;
    int rc = module_load(p, &m, err);

    if (rc == 0)
        module_unload(m);
    else
        ck_assert_ptr_null(m);
    free(p);
    return rc;
}

START_TEST(test_module_wrong_abi_major_is_refused)
{
    struct pandora_error err = { "" };

    ck_assert_int_eq(mod_load("wrong_abi_major", &err), -EPROTO);
    ck_assert_msg(strstr(err.text, "wrong_abi_major.so") != NULL, "%s",
                  err.text);
    ck_assert_msg(strstr(err.text, "ABI 2.0") != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "rebuild") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_module_newer_abi_minor_is_refused)
{
    struct pandora_error err = { "" };

    ck_assert_int_eq(mod_load("newer_abi_minor", &err), -EPROTO);
    ck_assert_msg(strstr(err.text, "newer_abi_minor.so") != NULL, "%s",
                  err.text);
    ck_assert_msg(strstr(err.text, "ABI 1.1") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_module_without_descriptor_is_refused)
{
    struct pandora_error err = { "" };

    ck_assert_int_eq(mod_load("no_descriptor", &err), -ENOEXEC);
    ck_assert_msg(strstr(err.text, "no_descriptor.so") != NULL, "%s",
                  err.text);
    ck_assert_msg(strstr(err.text, "pandora_module") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_module_missing_file_is_refused_with_its_path)
{
    struct pandora_error err = { "" };

    ck_assert_int_eq(mod_load("does_not_exist", &err), -ENOENT);
    ck_assert_msg(strstr(err.text, "does_not_exist.so") != NULL, "%s",
                  err.text);
}
END_TEST

START_TEST(test_module_text_file_is_refused_as_not_loadable)
{
    struct pandora_error err = { "" };
    char *dir = tu_tmpdir();
    struct module *m = NULL;

    tu_write(dir, "fake.so", "this is not an ELF file\n");
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/fake.so", dir), 0);
    ck_assert_int_eq(module_load(p, &m, &err), -ELIBBAD);
    ck_assert_msg(strstr(err.text, "fake.so") != NULL, "%s", err.text);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_module_valid_module_loads_with_its_descriptor)
{
    struct pandora_error err = { "" };
    char *p = mod_path("tick");
    struct module *m = NULL;

    ck_assert_msg(module_load(p, &m, &err) == 0, "%s", err.text);
    ck_assert_str_eq(module_descriptor(m)->name, "tick");
    ck_assert_str_eq(module_path(m), p);
    module_unload(m);
    free(p);
}
END_TEST

/* Every test module that the build produced, with what loading must give:
 * a new .so that nobody listed here fails the suite (SSSD's dlopen-tests). */
static const struct {
    const char *name;
    int rc;
} known_modules[] = {
    { "tick", 0 },
    { "wrong_abi_major", -EPROTO },
    { "newer_abi_minor", -EPROTO },
    { "no_descriptor", -ENOEXEC },
    { "init_fails", 0 },
    { "configure_fails", 0 },
    { "dup_service", 0 },
    { "register_after_init", 0 },
};

START_TEST(test_module_every_built_module_is_known_and_loads_as_expected)
{
    DIR *d = opendir(getenv("TEST_MODULEDIR"));
    struct dirent *de;
    unsigned seen = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        char *name = strndup(de->d_name, len - 3);
        size_t i = 0;
        while (i < sizeof(known_modules) / sizeof(known_modules[0]) &&
               strcmp(known_modules[i].name, name) != 0)
            i++;
        ck_assert_msg(i < sizeof(known_modules) / sizeof(known_modules[0]),
                      "built module %s.so is not listed in this test", name);
        struct pandora_error err = { "" };
        ck_assert_msg(mod_load(name, &err) == known_modules[i].rc,
                      "%s: %s", name, err.text);
        free(name);
        seen++;
    }
    closedir(d);
    ck_assert_uint_eq(seen, sizeof(known_modules) / sizeof(known_modules[0]));
}
END_TEST

static struct hosttest ht;

static void host_setup(void)
{
    ht_setup(&ht);
}

static void host_teardown(void)
{
    ht_teardown(&ht);
}

START_TEST(test_host_skips_broken_modules_and_runs_the_others)
{
    struct pandora_error err = { "" };

    ht_write_server(&ht, "tick 1\ntick_interval_ms 3600000\n");
    ht_write_hostconf(&ht, "\"wrong_abi_major\", \"newer_abi_minor\", "
                      "\"no_descriptor\", \"init_fails\", \"configure_fails\", "
                      "\"dup_service\", \"tick\"", NULL);
    struct host *h = ht_build(&ht);
    ck_assert_uint_eq(host_failures(h), 6);
    ck_assert(ht_log_has(&ht, "wrong_abi_major.so was built for plugin ABI"));
    ck_assert(ht_log_has(&ht, "newer_abi_minor.so was built for plugin ABI"));
    ck_assert(ht_log_has(&ht, "no_descriptor.so is not a pandora_hostd "
                         "module"));
    ck_assert(ht_log_has(&ht, "module init_fails ("));
    ck_assert(ht_log_has(&ht, "init_fails.so): init failed"));
    ck_assert(ht_log_has(&ht, "configure_fails.so): configure_fails: this "
                         "service never accepts"));
    ck_assert(ht_log_has(&ht, "service name 'twin' is already registered"));
    ck_assert_msg(host_start(h, &err) == 0, "%s", err.text);
    char *json = ht_status_json(h);
    ck_assert_msg(strstr(json, "{\"name\":\"tick\",\"module\":\"tick\","
                           "\"running\":true") != NULL, "%s", json);
    ck_assert_msg(strstr(json, "\"name\":\"configure_fails\",\"module\":"
                           "\"configure_fails\",\"running\":false") != NULL,
                  "%s", json);
    free(json);
    host_stop(h);
    host_free(h);
}
END_TEST

START_TEST(test_host_failed_init_leaves_no_service_behind)
{
    ht_write_server(&ht, "");
    ht_write_hostconf(&ht, "\"init_fails\", \"dup_service\"", NULL);
    struct host *h = ht_build(&ht);
    ck_assert_uint_eq(host_failures(h), 2);
    ck_assert_ptr_null(host_service_owner(h, "init_fails"));
    ck_assert_ptr_null(host_service_owner(h, "twin"));
    host_free(h);
}
END_TEST

START_TEST(test_host_refuses_service_registration_after_init)
{
    struct pandora_error err = { "" };

    ht_write_server(&ht, "");
    ht_write_hostconf(&ht, "\"register_after_init\"", NULL);
    struct host *h = ht_build(&ht);
    ck_assert_uint_eq(host_failures(h), 0);
    ck_assert_msg(host_start(h, &err) == 0, "%s", err.text);
    /* its start() succeeds only if the late registration got -EBUSY */
    char *json = ht_status_json(h);
    ck_assert_msg(strstr(json, "\"name\":\"register_after_init\",\"module\":"
                           "\"register_after_init\",\"running\":true") != NULL,
                  "%s", json);
    ck_assert(ht_log_has(&ht, "service_register called outside init()"));
    free(json);
    host_stop(h);
    host_free(h);
}
END_TEST

/* tu_copy - copy a file byte for byte */
static void tu_copy(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int c;

    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    while ((c = fgetc(in)) != EOF)
        fputc(c, out);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

START_TEST(test_host_scans_module_dir_and_refuses_a_second_module_of_same_name)
{
    char *mdir = NULL, *from = mod_path("tick"), *to = NULL, *extra = NULL;

    ck_assert_int_ge(asprintf(&mdir, "%s/mods", ht.dir), 0);
    ck_assert_int_eq(mkdir(mdir, 0750), 0);
    ck_assert_int_ge(asprintf(&to, "%s/a_tick.so", mdir), 0);
    tu_copy(from, to);
    free(to);
    ck_assert_int_ge(asprintf(&to, "%s/b_tick_copy.so", mdir), 0);
    tu_copy(from, to);
    tu_write(mdir, "README", "not a module: ignored by the scan\n");
    ht_write_server(&ht, "");
    ck_assert_int_ge(asprintf(&extra, "module_dir = \"%s\";\n"
                              "state_dir = \"%s/state\";\n", mdir, ht.dir),
                     0);
    tu_write(NULL, ht.hostconf, extra);
    struct host *h = ht_build(&ht);
    ck_assert_uint_eq(host_failures(h), 1);
    ck_assert_str_eq(host_service_owner(h, "tick"), "tick");
    ck_assert(ht_log_has(&ht, "b_tick_copy.so: another module named 'tick' "
                         "is already loaded"));
    host_free(h);
    free(mdir);
    free(from);
    free(to);
    free(extra);
}
END_TEST

static Suite *module_suite(void)
{
    Suite *s = suite_create("module");
    TCase *tc = tcase_create("load");

    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_module_wrong_abi_major_is_refused);
    tcase_add_test(tc, test_module_newer_abi_minor_is_refused);
    tcase_add_test(tc, test_module_without_descriptor_is_refused);
    tcase_add_test(tc, test_module_missing_file_is_refused_with_its_path);
    tcase_add_test(tc, test_module_text_file_is_refused_as_not_loadable);
    tcase_add_test(tc, test_module_valid_module_loads_with_its_descriptor);
    tcase_add_test(tc,
                   test_module_every_built_module_is_known_and_loads_as_expected);
    suite_add_tcase(s, tc);

    tc = tcase_create("host");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, host_setup, host_teardown);
    tcase_add_test(tc, test_host_skips_broken_modules_and_runs_the_others);
    tcase_add_test(tc, test_host_failed_init_leaves_no_service_behind);
    tcase_add_test(tc, test_host_refuses_service_registration_after_init);
    tcase_add_test(tc,
        test_host_scans_module_dir_and_refuses_a_second_module_of_same_name);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(module_suite());
}
