/* init_fails.c - registers a service, then fails: the host must undo it
 * (drop the service, run its data_free) and start nothing of it. */
#include "config.h"

#include <stdlib.h>

#include "broken.h"

static const struct pandora_service_ops if_ops = {
    .name = "init_fails", .start = broken_start, .stop = broken_stop,
};

static int if_init(struct pandora_ctx *ctx, const struct pandora_host_api *api)
{
    int rc = api->service_register(ctx, &if_ops, malloc(16), free);

    if (rc < 0)
        return rc;
    api->log(ctx, PANDORA_LOG_ERROR, "init_fails: giving up on purpose");
    return -EIO;
}

const struct pandora_module pandora_module = {
    PANDORA_MODULE_ABI, .name = "init_fails", .version = "0", .init = if_init,
};
