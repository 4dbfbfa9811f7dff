/* broken.h - a minimal valid service for the deliberately broken modules. */
#ifndef T_MODULES_BROKEN_H
#define T_MODULES_BROKEN_H

#include <errno.h>

#include <pandora/plugin.h>

extern const struct pandora_module pandora_module;

static inline int broken_start(struct pandora_ctx *ctx, void *data,
                               const void *conf, struct pandora_error *e)
{
    return 0;
}

static inline void broken_stop(struct pandora_ctx *ctx, void *data,
                               const struct timespec *deadline)
{
}

#endif
