/* service.c - a registered service's settings and lifecycle. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "confitem.h"
#include "error.h"
#include "hostapi.h"
#include "hostconf.h"
#include "log.h"
#include "module.h"
#include "service.h"
#include "xalloc.h"

int service_ops_check(const struct pandora_service_ops *ops,
                      struct pandora_error *error_r)
{
    if (ops == NULL || !module_name_is_valid(ops->name))
        return error_set(error_r, -EINVAL,
                         "service name must be 1-64 of A-Z a-z 0-9 _ -");
    if (ops->start == NULL || ops->stop == NULL)
        return error_set(error_r, -EINVAL,
                         "service %s has no start or stop callback", ops->name);
    if ((ops->items != NULL || ops->lists != NULL) && ops->conf_size == 0)
        return error_set(error_r, -EINVAL,
                         "service %s declares settings but conf_size is 0",
                         ops->name);
    if (ops->items != NULL) {
        int rc = confitem_table_check(ops->items, error_r);
        if (rc < 0)
            return rc;
    }
    for (const struct pandora_conf_list *l = ops->lists; l && l->name; l++) {
        int rc = confitem_table_check(l->items, error_r);
        if (rc < 0)
            return rc;
        if (l->elem_size == 0 ||
            l->array_offset + sizeof(void *) > ops->conf_size ||
            l->count_offset + sizeof(size_t) > ops->conf_size)
            return error_set(error_r, -EINVAL,
                             "service %s: list '%s' does not fit its conf "
                             "struct",
                             ops->name, l->name);
    }
    return 0;
}

/* service_enabled - the enable key, read as a Pandora 0/1 switch */
static int service_enabled(const struct service *svc, const struct conf *conf,
                           bool *enabled_r, struct pandora_error *error_r)
{
    const char *key = svc->ops->enable_key;
    unsigned line = 0;

    *enabled_r = true;
    if (key == NULL)
        return 0;
    const char *value = conf_get(conf, key, &line);
    if (value == NULL) {
        *enabled_r = false;
        return 0;
    }
    const struct pandora_conf_item item = {
        .key = key, .type = PANDORA_CONF_BOOL, .offset = 0
    };
    bool on = false;
    char why[200];
    if (confitem_parse(&item, value, &on, why, sizeof(why)) < 0)
        return error_set(error_r, -EINVAL, "%s:%u: %s: %s", conf_path(conf),
                         line, key, why);
    *enabled_r = on;
    return 0;
}

int service_conf_build(const struct service *svc, const struct conf *conf,
                       const struct hostconf *hc, bool *enabled_r,
                       void **conf_r, struct pandora_error *error_r)
{
    const struct pandora_service_ops *ops = svc->ops;
    void *c = NULL;
    int rc;

    *conf_r = NULL;
    rc = service_enabled(svc, conf, enabled_r, error_r);
    if (rc < 0 || !*enabled_r)
        return rc;
    c = xcalloc(1, ops->conf_size ? ops->conf_size : 1);
    if (ops->items != NULL) {
        rc = confitem_apply(ops->items, conf, c, error_r);
        if (rc < 0) {
            free(c);
            return rc;
        }
    }
    rc = hostconf_apply_lists(hc, ops->name, ops->lists, c, error_r);
    if (rc == 0 && ops->configure != NULL) {
        rc = ops->configure(svc->ctx, svc->data, c, error_r);
        if (rc > 0)
            rc = -EINVAL;   /* a sloppy module: any non-zero is a refusal */
    }
    if (rc < 0) {
        service_conf_free(ops, c);
        return rc;
    }
    *conf_r = c;
    return 0;
}

void service_conf_free(const struct pandora_service_ops *ops, void *conf)
{
    if (conf == NULL)
        return;
    if (ops->items != NULL)
        confitem_free(ops->items, conf);
    hostconf_free_lists(ops->lists, conf);
    free(conf);
}

int service_start(struct service *svc, struct pandora_error *error_r)
{
    struct pandora_error err = { "" };

    if (svc->running || !svc->enabled || svc->conf == NULL)
        return 0;
    int rc = svc->ops->start(svc->ctx, svc->data, svc->conf, &err);
    if (rc != 0) {
        if (err.text[0] == '\0')
            error_sys(&err, rc < 0 ? rc : -EINVAL, "start failed");
        snprintf(svc->reason, sizeof(svc->reason), "%s", err.text);
        return error_set(error_r, rc < 0 ? rc : -EINVAL,
                         "service %s did not start: %s", svc->ops->name,
                         err.text);
    }
    svc->running = true;
    svc->reason[0] = '\0';
    return 0;
}

void service_stop(struct service *svc, const struct timespec *deadline)
{
    if (!svc->running)
        return;
    svc->ops->stop(svc->ctx, svc->data, deadline);
    svc->running = false;
    snprintf(svc->reason, sizeof(svc->reason), "stopped");
}

/* service_swap_conf - install conf as the current one, freeing the old */
static void service_swap_conf(struct service *svc, bool enabled, void *conf)
{
    service_conf_free(svc->ops, svc->conf);
    svc->conf = conf;
    svc->enabled = enabled;
}

int service_apply(struct service *svc, bool enabled, void *conf,
                  const struct timespec *deadline,
                  struct pandora_error *error_r)
{
    int rc = 0;

    if (!enabled || !svc->running || svc->ops->reconfigure == NULL) {
        /* stop, then start anew (or stay stopped) */
        service_stop(svc, deadline);
        service_swap_conf(svc, enabled, conf);
        if (!enabled) {
            snprintf(svc->reason, sizeof(svc->reason), "disabled");
            return 0;
        }
        return service_start(svc, error_r);
    }
    struct pandora_error err = { "" };
    rc = svc->ops->reconfigure(svc->ctx, svc->data, conf, &err);
    if (rc != 0) {
        service_conf_free(svc->ops, conf);   /* keeps running as it was */
        return error_set(error_r, rc < 0 ? rc : -EINVAL,
                         "service %s refused the new settings: %s",
                         svc->ops->name, err.text);
    }
    service_swap_conf(svc, enabled, conf);
    return 0;
}

void service_print(FILE *fp, const struct service *svc)
{
    const struct pandora_service_ops *ops = svc->ops;

    fprintf(fp, "service %s (module %s): %s\n", ops->name,
            svc->ctx->desc->name,
            !svc->enabled ? "disabled" : svc->conf ? "enabled" : "INVALID");
    if (ops->enable_key != NULL)
        fprintf(fp, "  %s %d\n", ops->enable_key, svc->enabled ? 1 : 0);
    if (svc->conf == NULL)
        return;
    if (ops->items != NULL)
        confitem_print(fp, ops->items, svc->conf, "  ");
    hostconf_print_lists(fp, ops->lists, svc->conf, "  ");
}

void service_free(struct service *svc)
{
    if (svc == NULL)
        return;
    if (svc->data_free != NULL)
        svc->data_free(svc->data);
    service_conf_free(svc->ops, svc->conf);
    free(svc);
}
