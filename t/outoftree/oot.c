/*
 * oot.c - a module built out of tree, against nothing but the installed
 * <pandora/plugin.h> and pandora-plugin.pc (t/outoftree.sh). Its run_once
 * delivers one file, proving the table works end to end.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pandora/plugin.h>

struct oot_conf {
    char *greeting;
};

static const struct pandora_host_api *oot_api;

static const struct pandora_conf_item oot_items[] = {
    { .key = "oot_greeting", .type = PANDORA_CONF_STRING,
      .offset = offsetof(struct oot_conf, greeting), .def = "hello" },
    PANDORA_CONF_ITEMS_END
};

static int oot_start(struct pandora_ctx *ctx, void *data, const void *conf,
                     struct pandora_error *error_r)
{
    return 0;
}

static void oot_stop(struct pandora_ctx *ctx, void *data,
                     const struct timespec *deadline)
{
}

static int oot_run_once(struct pandora_ctx *ctx, void *data, const void *conf,
                        struct pandora_error *error_r)
{
    const struct oot_conf *c = conf;
    int fd = memfd_create("oot", 0);

    if (fd < 0)
        return -errno;
    if (write(fd, c->greeting, strlen(c->greeting)) < 0) {
        close(fd);
        return -errno;
    }
    lseek(fd, 0, SEEK_SET);
    int rc = oot_api->spool_deliver(ctx, NULL, "oot.1700000000.data", fd,
                                    1700000000, error_r);
    close(fd);
    oot_api->log(ctx, PANDORA_LOG_INFO, "delivered: %d", rc);
    return rc;
}

static const struct pandora_service_ops oot_ops = {
    .name = "oot",
    .enable_key = "oot",
    .items = oot_items,
    .conf_size = sizeof(struct oot_conf),
    .start = oot_start,
    .stop = oot_stop,
    .run_once = oot_run_once,
};

static int oot_init(struct pandora_ctx *ctx, const struct pandora_host_api *api)
{
    if (!PANDORA_API_HAS(api, spool_deliver))
        return -ENOTSUP;
    oot_api = api;
    return api->service_register(ctx, &oot_ops, NULL, NULL);
}

extern const struct pandora_module pandora_module;
const struct pandora_module pandora_module = {
    PANDORA_MODULE_ABI,
    .name = "oot",
    .version = "1.0",
    .init = oot_init,
};
