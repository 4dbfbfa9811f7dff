/* newer_abi_minor.c - needs host table members this host does not have */
#include "config.h"
#include "broken.h"

static int nam_init(struct pandora_ctx *ctx, const struct pandora_host_api *api)
{
    return 0;
}

const struct pandora_module pandora_module = {
    .abi_major = PANDORA_ABI_MAJOR, .abi_minor = PANDORA_ABI_MINOR + 1,
    .struct_size = sizeof(struct pandora_module),
    .name = "newer_abi_minor", .version = "0", .init = nam_init,
};
