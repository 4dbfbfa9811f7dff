/* register_after_init.c - tries to register from start(): the host must
 * answer -EBUSY. start() succeeds only if it did, so a host that wrongly
 * accepts late registration makes this service fail to start. */
#include "config.h"

#include <stdio.h>

#include "broken.h"

static const struct pandora_host_api *rai_api;

static const struct pandora_service_ops rai_late_ops = {
    .name = "late", .start = broken_start, .stop = broken_stop,
};

static int rai_start(struct pandora_ctx *ctx, void *data, const void *conf,
                     struct pandora_error *error_r)
{
    int rc = rai_api->service_register(ctx, &rai_late_ops, NULL, NULL);

    if (rc == -EBUSY)
        return 0;
    snprintf(error_r->text, sizeof(error_r->text),
             "service_register after init returned %d, not -EBUSY", rc);
    return -EPROTO;
}

static const struct pandora_service_ops rai_ops = {
    .name = "register_after_init", .start = rai_start, .stop = broken_stop,
};

static int rai_init(struct pandora_ctx *ctx, const struct pandora_host_api *api)
{
    rai_api = api;
    return api->service_register(ctx, &rai_ops, NULL, NULL);
}

const struct pandora_module pandora_module = {
    PANDORA_MODULE_ABI, .name = "register_after_init", .version = "0",
    .init = rai_init,
};
