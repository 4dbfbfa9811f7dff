/* configure_fails.c - a service whose configure() always refuses */
#include "config.h"

#include <stdio.h>

#include "broken.h"

static int cf_configure(struct pandora_ctx *ctx, void *data, const void *conf,
                        struct pandora_error *error_r)
{
    snprintf(error_r->text, sizeof(error_r->text),
             "configure_fails: this service never accepts its settings");
    return -EINVAL;
}

static const struct pandora_service_ops cf_ops = {
    .name = "configure_fails", .configure = cf_configure,
    .start = broken_start, .stop = broken_stop,
};

static int cf_init(struct pandora_ctx *ctx, const struct pandora_host_api *api)
{
    return api->service_register(ctx, &cf_ops, NULL, NULL);
}

const struct pandora_module pandora_module = {
    PANDORA_MODULE_ABI, .name = "configure_fails", .version = "0",
    .init = cf_init,
};
