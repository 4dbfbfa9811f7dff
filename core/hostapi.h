/*
 * hostapi - the function table handed to modules (plugin.h) and the
 * per-module context it works on.
 */
#ifndef CORE_HOSTAPI_H
#define CORE_HOSTAPI_H

#include <stdbool.h>

#include <pandora/plugin.h>

struct host;
struct module;
struct service;

/* One per loaded module; owned by the host (host.c). */
struct pandora_ctx {
    struct host *host;
    struct module *module;      /* NULL when the module is linked in (tests) */
    const struct pandora_module *desc;
    bool registering;           /* only true while init() runs */
    bool initialised;           /* init() returned 0: fini() is due */
    struct service *services;   /* registration order */
    char *state_dir;
};

const struct pandora_host_api *hostapi_table(void);

#endif
