/* dup_service.c - registers two services with the same name */
#include "config.h"

#include "broken.h"

static const struct pandora_service_ops dup_ops = {
    .name = "twin", .start = broken_start, .stop = broken_stop,
};

static int dup_init(struct pandora_ctx *ctx, const struct pandora_host_api *api)
{
    int rc = api->service_register(ctx, &dup_ops, NULL, NULL);

    if (rc == 0)
        rc = api->service_register(ctx, &dup_ops, NULL, NULL);
    return rc;
}

const struct pandora_module pandora_module = {
    PANDORA_MODULE_ABI, .name = "dup_service", .version = "0",
    .init = dup_init,
};
