/* hostconf.c - pandora_hostd.conf (libconfig): the host's own settings and
 * the services' sections. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confitem.h"
#include "error.h"
#include "hostconf.h"
#include "httpd.h"
#include "xalloc.h"

#define HOSTCONF_STR(x) HOSTCONF_STR2(x)
#define HOSTCONF_STR2(x) #x

/*
 * The host's scalar settings, described like a module's so they are parsed,
 * defaulted and printed by the same code. A PATH without a default may be
 * given as "" to leave it unset.
 */
static const struct pandora_conf_item hostconf_items[] = {
    { .key = "server_conf", .type = PANDORA_CONF_PATH,
      .offset = offsetof(struct hostconf, server_conf),
      .def = PANDORACONFDIR "/pandora_server.conf" },
    { .key = "module_dir", .type = PANDORA_CONF_PATH,
      .offset = offsetof(struct hostconf, module_dir), .def = MODULEDIR },
    { .key = "log_file", .type = PANDORA_CONF_PATH,
      .offset = offsetof(struct hostconf, log_file) },
    { .key = "workers", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct hostconf, workers),
      .def = HOSTCONF_STR(HOSTCONF_DEFAULT_WORKERS), .min = 1, .max = 256 },
    { .key = "state_dir", .type = PANDORA_CONF_PATH,
      .offset = offsetof(struct hostconf, state_dir), .def = STATEDIR },
    { .key = "pid_file", .type = PANDORA_CONF_PATH,
      .offset = offsetof(struct hostconf, pid_file),
      .def = RUNSTATEDIR "/pandora_hostd.pid" },
    { .key = "stop_timeout", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct hostconf, stop_timeout),
      .def = HOSTCONF_STR(HOSTCONF_DEFAULT_STOP_TIMEOUT), .min = 1,
      .max = 600 },
    PANDORA_CONF_ITEMS_END
};

static const struct pandora_conf_item hostconf_status_items[] = {
    { .key = "enabled", .type = PANDORA_CONF_BOOL,
      .offset = offsetof(struct hostconf, status.enabled), .def = "1" },
    { .key = "listen", .type = PANDORA_CONF_STRING,
      .offset = offsetof(struct hostconf, status.listen), .def = "127.0.0.1" },
    { .key = "port", .type = PANDORA_CONF_UINT,
      .offset = offsetof(struct hostconf, status.port),
      .def = HOSTCONF_STR(HOSTCONF_DEFAULT_STATUS_PORT), .min = 1,
      .max = 65535 },
    { .key = "token_file", .type = PANDORA_CONF_PATH,
      .offset = offsetof(struct hostconf, status.token_file) },
    PANDORA_CONF_ITEMS_END
};

#define HOSTCONF_VALID_TOP "server_conf, module_dir, modules, log_file, " \
    "workers, state_dir, pid_file, stop_timeout, status"

/* ------------------------------------------------------------------------
 * Messages: every one starts with the file and line of the setting.
 */

/* hostconf_fail - "FILE:LINE: text" for setting s; returns -EINVAL */
static int hostconf_fail(struct pandora_error *error_r, const char *path,
                         const config_setting_t *s, const char *fmt, ...)
    PANDORA_PRINTF(4, 5);
static int hostconf_fail(struct pandora_error *error_r, const char *path,
                         const config_setting_t *s, const char *fmt, ...)
{
    const char *file = config_setting_source_file(s);
    char text[PANDORA_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return error_set(error_r, -EINVAL, "%s:%u: %s", file ? file : path,
                     (unsigned)config_setting_source_line(s), text);
}

static const char *hostconf_type_name(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:
        return "a group { }";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "a whole number";
    case CONFIG_TYPE_FLOAT:
        return "a decimal number";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array [ ]";
    case CONFIG_TYPE_LIST:
        return "a list ( )";
    default:
        return "nothing";
    }
}

/* hostconf_type_error - a setting of the wrong libconfig type for item */
static int hostconf_type_error(const struct pandora_conf_item *it,
                               const config_setting_t *s, const char *where,
                               const char *path, struct pandora_error *error_r)
{
    const char *got = hostconf_type_name(s);

    switch (it->type) {
    case PANDORA_CONF_UINT:
    case PANDORA_CONF_SIZE:
        if (it->min != 0 || it->max != 0)
            return hostconf_fail(error_r, path, s, "%s%s: expected a whole "
                                 "number from %llu to %llu (no quotes), "
                                 "got %s", where, it->key,
                                 (unsigned long long)it->min,
                                 (unsigned long long)it->max, got);
        return hostconf_fail(error_r, path, s, "%s%s: expected a whole number "
                             "(no quotes), got %s", where, it->key, got);
    case PANDORA_CONF_BOOL:
        return hostconf_fail(error_r, path, s, "%s%s: expected true or false "
                             "(no quotes), got %s", where, it->key, got);
    default:
        return hostconf_fail(error_r, path, s, "%s%s: expected a string in "
                             "double quotes, got %s", where, it->key, got);
    }
}

/* ------------------------------------------------------------------------
 * One libconfig scalar into one typed item
 */

/*
 * hostconf_apply_setting - convert s to text and parse it with the item's
 * rules into out. Types are strict: a number item takes only a libconfig
 * integer, a switch only true/false (a quoted "41180" or a 1 for a switch
 * is a mistake, not something to guess about); text items take a string or
 * an integer (as its decimal text).
 */
static int hostconf_apply_setting(const struct pandora_conf_item *it,
                                  const config_setting_t *s, void *out,
                                  const char *where, const char *path,
                                  struct pandora_error *error_r)
{
    bool number = it->type == PANDORA_CONF_UINT ||
                  it->type == PANDORA_CONF_SIZE;
    bool is_bool = it->type == PANDORA_CONF_BOOL;
    int type = config_setting_type(s);
    char num[32], why[200];
    const char *text;

    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        if (is_bool)
            return hostconf_type_error(it, s, where, path, error_r);
        snprintf(num, sizeof(num), "%lld", config_setting_get_int64(s));
        text = num;
    } else if (type == CONFIG_TYPE_BOOL && is_bool) {
        text = config_setting_get_bool(s) ? "1" : "0";
    } else if (type == CONFIG_TYPE_STRING && !number && !is_bool) {
        text = config_setting_get_string(s);
    } else {
        return hostconf_type_error(it, s, where, path, error_r);
    }
    if (confitem_parse(it, text, out, why, sizeof(why)) < 0)
        return hostconf_fail(error_r, path, s, "%s%s: %s", where, it->key,
                             why);
    return 0;
}

/* hostconf_find_item - the item named `name` (as written), or NULL */
static const struct pandora_conf_item *
hostconf_find_item(const struct pandora_conf_item *items, const char *name)
{
    for (const struct pandora_conf_item *it = items; it && it->key; it++)
        if (strcmp(it->key, name) == 0)
            return it;
    return NULL;
}

/* hostconf_valid_keys - "a, b, c" for a hint, cut to fit */
static void hostconf_valid_keys(const struct pandora_conf_item *items,
                                char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (const struct pandora_conf_item *it = items; it && it->key; it++) {
        if (used >= size)
            break;
        int n = snprintf(buf + used, size - used, "%s%s",
                         it == items ? "" : ", ", it->key);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* ------------------------------------------------------------------------
 * The host's own settings
 */

/* hostconf_defaults - a hostconf holding every built-in default */
static struct hostconf *hostconf_defaults(void)
{
    struct hostconf *hc = xcalloc(1, sizeof(*hc));
    const struct pandora_conf_item *tables[] = { hostconf_items,
                                                 hostconf_status_items };

    for (size_t t = 0; t < 2; t++)
        for (const struct pandora_conf_item *it = tables[t]; it->key; it++)
            if (it->def != NULL &&
                confitem_parse(it, it->def, hc, NULL, 0) < 0)
                abort();                   /* a wrong built-in default */
    return hc;
}

/* hostconf_host_setting - one of hostconf_items or hostconf_status_items */
static int hostconf_host_setting(struct hostconf *hc,
                                 const struct pandora_conf_item *it,
                                 const config_setting_t *s, const char *where,
                                 const char *path,
                                 struct pandora_error *error_r)
{
    const char *v = config_setting_get_string(s);

    if (it->type == PANDORA_CONF_PATH && it->def == NULL && v != NULL &&
        *v == '\0') {
        char *none = NULL;
        char *old;
        memcpy(&old, (char *)hc + it->offset, sizeof(old));
        free(old);
        memcpy((char *)hc + it->offset, &none, sizeof(none));
        return 0;
    }
    return hostconf_apply_setting(it, s, hc, where, path, error_r);
}

/* hostconf_module_name - a file name in module_dir: no path, not hidden */
static int hostconf_module_name(const config_setting_t *e, const char *name,
                                const char *path,
                                struct pandora_error *error_r)
{
    for (const char *p = name; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return hostconf_fail(error_r, path, e, "modules: a name contains "
                                 "a control character");
    if (*name == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
        return hostconf_fail(error_r, path, e, "modules: '%.64s' is not a "
                             "plain module name (like \"syncserver\": "
                             "non-empty, no '/', not starting with '.')",
                             name);
    return 0;
}

/* hostconf_read_modules - modules = [ "a", "b" ]: plain, unique names */
static int hostconf_read_modules(struct hostconf *hc,
                                 const config_setting_t *s, const char *path,
                                 struct pandora_error *error_r)
{
    if (!config_setting_is_array(s) && !config_setting_is_list(s))
        return hostconf_fail(error_r, path, s, "modules: expected an array "
                             "of names [ \"syncserver\" ], got %s",
                             hostconf_type_name(s));
    size_t n = (size_t)config_setting_length(s);
    hc->modules = xcalloc(n + 1, sizeof(*hc->modules));
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_get_string(e);
        if (name == NULL)
            return hostconf_fail(error_r, path, e, "modules: expected a name "
                                 "in double quotes, got %s",
                                 hostconf_type_name(e));
        int rc = hostconf_module_name(e, name, path, error_r);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < hc->n_modules; j++)
            if (strcmp(hc->modules[j], name) == 0)
                return hostconf_fail(error_r, path, e, "modules: '%.64s' is "
                                     "listed twice", name);
        hc->modules[hc->n_modules++] = xstrdup(name);
    }
    return 0;
}

/* hostconf_check_status - listen must be an IP address (the listener must
 * not depend on DNS), and one that others can reach needs a token: found
 * here, --check-config and a reload refuse it before anything runs */
static int hostconf_check_status(const struct hostconf *hc,
                                 const config_setting_t *s, const char *path,
                                 struct pandora_error *error_r)
{
    const config_setting_t *at = config_setting_get_member(s, "listen");
    const char *listen = hc->status.listen;
    struct sockaddr_storage sa;
    socklen_t len = 0;
    bool loopback = false;

    if (!hc->status.enabled)
        return 0;
    if (httpd_addr_parse(listen, 0, &sa, &len, &loopback) < 0)
        return hostconf_fail(error_r, path, at ? at : s, "status.listen: "
                             "\"%.64s\" is not an IP address; use e.g. "
                             "127.0.0.1, ::1 or 0.0.0.0", listen);
    if (!loopback && hc->status.token_file == NULL)
        return hostconf_fail(error_r, path, at ? at : s, "status.listen "
                             "\"%.64s\" is not a loopback address, so "
                             "status.token_file is required: set it to a "
                             "file holding a bearer token, or listen on "
                             "127.0.0.1", listen);
    return 0;
}

/* hostconf_read_status - status = { enabled; listen; port; token_file } */
static int hostconf_read_status(struct hostconf *hc, const config_setting_t *s,
                                const char *path,
                                struct pandora_error *error_r)
{
    char valid[128];

    if (!config_setting_is_group(s))
        return hostconf_fail(error_r, path, s, "status: expected a group "
                             "{ enabled = true; port = 41180; }, got %s",
                             hostconf_type_name(s));
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        const struct pandora_conf_item *it =
            hostconf_find_item(hostconf_status_items, config_setting_name(m));
        if (it == NULL) {
            hostconf_valid_keys(hostconf_status_items, valid, sizeof(valid));
            return hostconf_fail(error_r, path, m, "unknown setting "
                                 "'status.%s'; valid in status: %s",
                                 config_setting_name(m), valid);
        }
        int rc = hostconf_host_setting(hc, it, m, "status.", path, error_r);
        if (rc < 0)
            return rc;
    }
    return hostconf_check_status(hc, s, path, error_r);
}

/* hostconf_read_root - every top-level setting; other groups are services'
 * sections, checked by hostconf_check_sections once services are known */
static int hostconf_read_root(struct hostconf *hc, const config_t *cfg,
                              const char *path, struct pandora_error *error_r)
{
    const config_setting_t *root = config_root_setting(cfg);

    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        const struct pandora_conf_item *it =
            hostconf_find_item(hostconf_items, name);
        int rc = 0;

        if (it != NULL)
            rc = hostconf_host_setting(hc, it, s, "", path, error_r);
        else if (strcmp(name, "modules") == 0)
            rc = hostconf_read_modules(hc, s, path, error_r);
        else if (strcmp(name, "status") == 0)
            rc = hostconf_read_status(hc, s, path, error_r);
        else if (!config_setting_is_group(s))
            rc = hostconf_fail(error_r, path, s, "unknown setting '%s'; valid: "
                               HOSTCONF_VALID_TOP ", or a service's section "
                               "%s = { ... }", name, name);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* hostconf_from_config - build a hostconf from a parsed tree it then owns */
static int hostconf_from_config(config_t *cfg, const char *path,
                                struct hostconf **hc_r,
                                struct pandora_error *error_r)
{
    struct hostconf *hc = hostconf_defaults();

    hc->path = xstrdup(path);
    hc->priv = cfg;
    int rc = hostconf_read_root(hc, cfg, path, error_r);
    if (rc < 0) {
        hostconf_free(hc);
        return rc;
    }
    *hc_r = hc;
    return 0;
}

/* hostconf_new_config - a libconfig tree whose @include is relative to the
 * file's own directory (a service runs with / as working directory) */
static config_t *hostconf_new_config(const char *path)
{
    config_t *cfg = xmalloc(sizeof(*cfg));
    const char *slash = strrchr(path, '/');

    config_init(cfg);
    if (slash != NULL) {
        char *dir = xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
        config_set_include_dir(cfg, dir);  /* copied by libconfig */
        free(dir);
    }
    return cfg;
}

static void hostconf_destroy_config(config_t *cfg)
{
    if (cfg != NULL) {
        config_destroy(cfg);
        free(cfg);
    }
}

/* hostconf_syntax_error - libconfig's parse error, with file and line */
static int hostconf_syntax_error(config_t *cfg, const char *path,
                                 struct pandora_error *error_r)
{
    const char *file = config_error_file(cfg);
    const char *text = config_error_text(cfg);
    bool plain = text == NULL || strcmp(text, "syntax error") == 0;
    int rc = error_set(error_r, -EINVAL, "%s:%d: %s%s",
                       file ? file : path, config_error_line(cfg),
                       text ? text : "cannot parse",
                       plain ? " (expected name = value; with strings in "
                               "double quotes)" : "");

    hostconf_destroy_config(cfg);
    return rc;
}

int hostconf_load(const char *path, bool required, struct hostconf **hc_r,
                  struct pandora_error *error_r)
{
    if (path == NULL) {
        if (required)
            return error_set(error_r, -EINVAL, "no pandora_hostd.conf path "
                             "given");
        *hc_r = hostconf_defaults();
        return 0;
    }
    config_t *cfg = hostconf_new_config(path);
    if (config_read_file(cfg, path))
        return hostconf_from_config(cfg, path, hc_r, error_r);
    if (config_error_type(cfg) != CONFIG_ERR_FILE_IO)
        return hostconf_syntax_error(cfg, path, error_r);
    hostconf_destroy_config(cfg);

    /* libconfig only says "file I/O error": ask open() why. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = fd < 0 ? -errno : -EIO;
    if (fd >= 0)
        close(fd);
    if (rc == -ENOENT && !required) {
        *hc_r = hostconf_defaults();
        return 0;
    }
    return error_set(error_r, rc, "cannot read %s: %s; check the file given "
                     "with -H", path, strerror(-rc));
}

int hostconf_parse(const char *path, const char *text, struct hostconf **hc_r,
                   struct pandora_error *error_r)
{
    config_t *cfg = hostconf_new_config(path);

    if (!config_read_string(cfg, text))
        return hostconf_syntax_error(cfg, path, error_r);
    return hostconf_from_config(cfg, path, hc_r, error_r);
}

void hostconf_free(struct hostconf *hc)
{
    if (hc == NULL)
        return;
    confitem_free(hostconf_items, hc);
    confitem_free(hostconf_status_items, hc);
    for (size_t i = 0; i < hc->n_modules; i++)
        free(hc->modules[i]);
    free(hc->modules);
    free(hc->path);
    hostconf_destroy_config(hc->priv);
    free(hc);
}

int hostconf_check_sections(const struct hostconf *hc,
                            const char *const *services, size_t n,
                            struct pandora_error *error_r)
{
    const config_t *cfg = hc != NULL ? hc->priv : NULL;
    const config_setting_t *root = cfg != NULL ? config_root_setting(cfg)
                                               : NULL;
    char known[128];

    for (int i = 0; root != NULL && i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        bool found = !config_setting_is_group(s) ||
                     strcmp(name, "status") == 0;

        for (size_t j = 0; j < n && !found; j++)
            found = services[j] != NULL && strcmp(services[j], name) == 0;
        if (found)
            continue;
        size_t used = 0;
        known[0] = '\0';
        for (size_t j = 0; j < n && used < sizeof(known); j++) {
            int w = snprintf(known + used, sizeof(known) - used, "%s%s",
                             j ? ", " : "", services[j] ? services[j] : "?");
            used += w > 0 ? (size_t)w : 0;
        }
        return hostconf_fail(error_r, hc->path, s, "section '%s' belongs to "
                             "no loaded service (loaded: %s); fix its name or "
                             "load its module", name, n ? known : "none");
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Services' lists: name = ( { key = value; ... }, ... )
 */

static void *hostconf_list_array(const struct pandora_conf_list *l,
                                 const void *conf)
{
    void *array;

    memcpy(&array, (const char *)conf + l->array_offset, sizeof(array));
    return array;
}

static size_t hostconf_list_count(const struct pandora_conf_list *l,
                                  const void *conf)
{
    size_t n;

    memcpy(&n, (const char *)conf + l->count_offset, sizeof(n));
    return n;
}

static void hostconf_list_store(const struct pandora_conf_list *l, void *conf,
                                void *array, size_t n)
{
    memcpy((char *)conf + l->array_offset, &array, sizeof(array));
    memcpy((char *)conf + l->count_offset, &n, sizeof(n));
}

/* hostconf_read_group - one { key = value; } into one list element */
static int hostconf_read_group(const struct pandora_conf_list *l,
                               const config_setting_t *g, void *elem,
                               const char *where, const char *path,
                               struct pandora_error *error_r)
{
    char valid[160], why[200];

    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        if (hostconf_find_item(l->items, config_setting_name(m)) == NULL) {
            hostconf_valid_keys(l->items, valid, sizeof(valid));
            return hostconf_fail(error_r, path, m, "%sunknown key '%s'; "
                                 "valid: %s", where, config_setting_name(m),
                                 valid);
        }
    }
    for (const struct pandora_conf_item *it = l->items; it->key; it++) {
        const config_setting_t *m = config_setting_get_member(g, it->key);
        if (m == NULL && it->fallback != NULL)
            m = config_setting_get_member(g, it->fallback);
        int rc = 0;
        if (m != NULL)
            rc = hostconf_apply_setting(it, m, elem, where, path, error_r);
        else if (it->def != NULL &&
                 confitem_parse(it, it->def, elem, why, sizeof(why)) < 0)
            rc = hostconf_fail(error_r, path, g, "%s%s: invalid default in "
                               "the module's table: %s", where, it->key, why);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* hostconf_read_list - a list of groups into a calloc'd array */
static int hostconf_read_list(const struct pandora_conf_list *l,
                              const config_setting_t *s, const char *service,
                              void *conf, const char *path,
                              struct pandora_error *error_r)
{
    if (!config_setting_is_list(s))
        return hostconf_fail(error_r, path, s, "%s.%s: expected a list of "
                             "groups ( { ... }, { ... } ), got %s", service,
                             l->name, hostconf_type_name(s));
    size_t n = (size_t)config_setting_length(s);
    char *array = n > 0 ? xcalloc(n, l->elem_size) : NULL;

    /* Stored at once: every element is zeroed, so a partial list is freed
     * by hostconf_free_lists like a whole one. */
    hostconf_list_store(l, conf, array, n);
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        char where[160];
        snprintf(where, sizeof(where), "%s.%s #%zu: ", service, l->name,
                 i + 1);
        if (!config_setting_is_group(g))
            return hostconf_fail(error_r, path, g, "%sexpected a group "
                                 "{ key = value; }, got %s", where,
                                 hostconf_type_name(g));
        int rc = hostconf_read_group(l, g, array + i * l->elem_size, where,
                                     path, error_r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* hostconf_find_list - the list named `name`, or NULL */
static const struct pandora_conf_list *
hostconf_find_list(const struct pandora_conf_list *lists, const char *name)
{
    for (const struct pandora_conf_list *l = lists; l && l->name; l++)
        if (strcmp(l->name, name) == 0)
            return l;
    return NULL;
}

/* hostconf_section_apply - every member of the service's section */
static int hostconf_section_apply(const struct hostconf *hc,
                                  const config_setting_t *section,
                                  const char *service,
                                  const struct pandora_conf_list *lists,
                                  void *conf, struct pandora_error *error_r)
{
    char valid[128] = "";
    size_t used = 0;

    if (!config_setting_is_group(section))
        return hostconf_fail(error_r, hc->path, section, "%s: expected a "
                             "group { ... }, got %s", service,
                             hostconf_type_name(section));
    for (int i = 0; i < config_setting_length(section); i++) {
        const config_setting_t *s = config_setting_get_elem(section,
                                                            (unsigned)i);
        const struct pandora_conf_list *l =
            hostconf_find_list(lists, config_setting_name(s));
        if (l != NULL) {
            int rc = hostconf_read_list(l, s, service, conf, hc->path,
                                        error_r);
            if (rc < 0)
                return rc;
            continue;
        }
        for (l = lists; l && l->name && used < sizeof(valid); l++) {
            int w = snprintf(valid + used, sizeof(valid) - used, "%s%s",
                             l == lists ? "" : ", ", l->name);
            used += w > 0 ? (size_t)w : 0;
        }
        return hostconf_fail(error_r, hc->path, s, "unknown setting '%s.%s'; "
                             "valid in %s: %s", service,
                             config_setting_name(s), service,
                             used ? valid : "none");
    }
    return 0;
}

int hostconf_apply_lists(const struct hostconf *hc, const char *service,
                         const struct pandora_conf_list *lists, void *conf,
                         struct pandora_error *error_r)
{
    const config_t *cfg = hc != NULL ? hc->priv : NULL;
    const config_setting_t *section = NULL;

    for (const struct pandora_conf_list *l = lists; l && l->name; l++)
        hostconf_list_store(l, conf, NULL, 0);
    if (cfg != NULL && service != NULL)
        section = config_setting_get_member(config_root_setting(cfg), service);
    if (section == NULL)
        return 0;
    int rc = hostconf_section_apply(hc, section, service, lists, conf,
                                    error_r);
    if (rc < 0)
        hostconf_free_lists(lists, conf);
    return rc;
}

void hostconf_free_lists(const struct pandora_conf_list *lists, void *conf)
{
    if (conf == NULL)
        return;
    for (const struct pandora_conf_list *l = lists; l && l->name; l++) {
        char *array = hostconf_list_array(l, conf);
        size_t n = hostconf_list_count(l, conf);
        for (size_t i = 0; array != NULL && i < n; i++)
            confitem_free(l->items, array + i * l->elem_size);
        free(array);
        hostconf_list_store(l, conf, NULL, 0);
    }
}

void hostconf_print_lists(FILE *fp, const struct pandora_conf_list *lists,
                          const void *conf, const char *indent)
{
    if (conf == NULL)
        return;
    if (indent == NULL)
        indent = "";
    char *inner = xasprintf("%s    ", indent);

    for (const struct pandora_conf_list *l = lists; l && l->name; l++) {
        const char *array = hostconf_list_array(l, conf);
        size_t n = hostconf_list_count(l, conf);
        if (n == 0)
            fprintf(fp, "%s%s (none)\n", indent, l->name);
        for (size_t i = 0; array != NULL && i < n; i++) {
            fprintf(fp, "%s%s #%zu\n", indent, l->name, i + 1);
            confitem_print(fp, l->items, array + i * l->elem_size, inner);
        }
    }
    free(inner);
}

void hostconf_print(FILE *fp, const struct hostconf *hc)
{
    confitem_print(fp, hostconf_items, hc, "  ");
    fputs("  modules", fp);
    if (hc->modules == NULL)
        fputs(" (every *.so in module_dir)", fp);
    else if (hc->n_modules == 0)
        fputs(" (none)", fp);
    for (size_t i = 0; i < hc->n_modules; i++)
        fprintf(fp, " %s", hc->modules[i]);
    fputc('\n', fp);
    confitem_print(fp, hostconf_status_items, hc, "  status.");
}
