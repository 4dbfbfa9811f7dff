/* wrong_abi_major.c - built for a plugin ABI major this host does not have */
#include "config.h"
#include "broken.h"

static int wam_init(struct pandora_ctx *ctx, const struct pandora_host_api *api)
{
    return 0;
}

const struct pandora_module pandora_module = {
    .abi_major = PANDORA_ABI_MAJOR + 1, .abi_minor = 0,
    .struct_size = sizeof(struct pandora_module),
    .name = "wrong_abi_major", .version = "0", .init = wam_init,
};
