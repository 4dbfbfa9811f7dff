/*
 * module - load one module file: dlopen, find the descriptor, check the ABI.
 *
 * The module's init() is not called here (see host.c); a loaded module is
 * only a checked descriptor and a handle.
 */
#ifndef CORE_MODULE_H
#define CORE_MODULE_H

#include <pandora/plugin.h>

struct module;

/*
 * module_load - dlopen(path, RTLD_NOW | RTLD_LOCAL) and check the exported
 * `pandora_module` descriptor.
 * RETURN VALUE 0; -ENOENT the file is missing; -ELIBBAD dlopen refused it
 * (dlerror() quoted); -ENOEXEC no descriptor; -EPROTO another ABI major, a
 * newer minor or a too-small descriptor; -EINVAL a malformed descriptor.
 * error_r always names the file, the reason and what to do.
 */
int module_load(const char *path, struct module **module_r,
                struct pandora_error *error_r);

/* module_unload - dlclose (kept mapped in sanitizer builds, so leak reports
 * can name module functions). Accepts NULL. */
void module_unload(struct module *module);

const struct pandora_module *module_descriptor(const struct module *module);
const char *module_path(const struct module *module);

/* module_name_is_valid - [A-Za-z0-9_-]{1,64}: safe in paths and logs. */
bool module_name_is_valid(const char *name);

#endif
