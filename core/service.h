/*
 * service - one registered service: its ops, its data, its validated
 * configuration and its lifecycle (start, stop, reconfigure).
 *
 * THREADS: main thread only, except where a call says otherwise.
 */
#ifndef CORE_SERVICE_H
#define CORE_SERVICE_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <pandora/plugin.h>

struct conf;
struct hostconf;

struct service {
    struct service *next;       /* next service of the same module */
    struct pandora_ctx *ctx;    /* the module that registered it */
    const struct pandora_service_ops *ops;
    void *data;
    pandora_free_fn *data_free;
    bool enabled;               /* its enable key is 1 (or it has none) */
    void *conf;                 /* validated settings, owned; NULL if none */
    bool running;
    char reason[PANDORA_ERROR_MAX]; /* why it is not running, or "" */
};

/* service_ops_check - is a module's ops table usable (name, start, stop,
 * conf tables well formed)? -EINVAL with the reason otherwise. */
int service_ops_check(const struct pandora_service_ops *ops,
                      struct pandora_error *error_r);

/*
 * service_conf_build - read whether the service is enabled and, if so,
 * parse, validate (types, ranges, lists, then ops->configure) and return a
 * new settings struct in *conf_r (NULL when disabled). Nothing is changed in
 * svc. error_r names file, line and key.
 */
int service_conf_build(const struct service *svc, const struct conf *conf,
                       const struct hostconf *hc, bool *enabled_r,
                       void **conf_r, struct pandora_error *error_r);
void service_conf_free(const struct pandora_service_ops *ops, void *conf);

/* service_start - start with svc->conf. service_stop - stop if running. */
int service_start(struct service *svc, struct pandora_error *error_r);
void service_stop(struct service *svc, const struct timespec *deadline);

/*
 * service_apply - switch a service to (enabled, conf), taking ownership of
 * conf: starts, stops or reconfigures as needed. On failure the service
 * keeps its previous settings if it can, and conf is freed.
 */
int service_apply(struct service *svc, bool enabled, void *conf,
                  const struct timespec *deadline,
                  struct pandora_error *error_r);

/* service_print - "service NAME enabled|disabled" and effective settings. */
void service_print(FILE *fp, const struct service *svc);

/* service_free - stop must have happened; runs data_free, frees conf. */
void service_free(struct service *svc);

#endif
