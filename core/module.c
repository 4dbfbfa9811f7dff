/* module.c - dlopen a module and refuse it unless its ABI matches. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "module.h"
#include "xalloc.h"

struct module {
    char *path;
    void *handle;
    const struct pandora_module *desc;
};

bool module_name_is_valid(const char *name)
{
    size_t n = 0;

    if (name == NULL)
        return false;
    for (const char *p = name; *p != '\0'; p++, n++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
        if (!ok || n >= 64)
            return false;
    }
    return n > 0;
}

/* module_check_abi - the descriptor must fit this host exactly (STYLE.md) */
static int module_check_abi(const char *path, const struct pandora_module *d,
                            struct pandora_error *e)
{
    if (d->abi_major != PANDORA_ABI_MAJOR || d->abi_minor > PANDORA_ABI_MINOR)
        return error_set(e, -EPROTO,
                         "module %s was built for plugin ABI %u.%u but this "
                         "host provides %u.%u; rebuild the module against "
                         "this host's pandora/plugin.h",
                         path, d->abi_major, d->abi_minor, PANDORA_ABI_MAJOR,
                         PANDORA_ABI_MINOR);
    if (d->struct_size < offsetof(struct pandora_module, reserved))
        return error_set(e, -EPROTO,
                         "module %s has a descriptor of %u bytes, smaller than "
                         "ABI %u.%u requires; rebuild the module",
                         path, d->struct_size, PANDORA_ABI_MAJOR,
                         PANDORA_ABI_MINOR);
    if (!module_name_is_valid(d->name) || d->init == NULL)
        return error_set(e, -EINVAL,
                         "module %s has a malformed descriptor (name must be "
                         "1-64 of A-Z a-z 0-9 _ -, init must be set); fix the "
                         "module",
                         path);
    return 0;
}

/* module_open_flags - sanitizer builds keep modules mapped at dlclose */
static int module_open_flags(void)
{
#ifdef HAVE_SANITIZERS
    return RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE;
#else
    return RTLD_NOW | RTLD_LOCAL;
#endif
}

int module_load(const char *path, struct module **module_r,
                struct pandora_error *error_r)
{
    struct stat sb;

    if (stat(path, &sb) < 0)
        return error_sys(error_r, -errno,
                         "cannot load module %s; check module_dir and "
                         "modules in pandora_hostd.conf",
                         path);
    void *handle = dlopen(path, module_open_flags());
    if (handle == NULL) {
        const char *why = dlerror();
        return error_set(error_r, -ELIBBAD,
                         "cannot load module %s: %s; reinstall the module",
                         path, why != NULL ? why : "unknown dlopen error");
    }
    dlerror();
    const struct pandora_module *desc = dlsym(handle, PANDORA_MODULE_SYMBOL);
    const char *why = dlerror();
    if (why != NULL || desc == NULL) {
        dlclose(handle);
        return error_set(error_r, -ENOEXEC,
                         "%s is not a pandora_hostd module: it exports no "
                         "'%s' descriptor; remove it from module_dir",
                         path, PANDORA_MODULE_SYMBOL);
    }
    int rc = module_check_abi(path, desc, error_r);
    if (rc < 0) {
        dlclose(handle);
        return rc;
    }
    struct module *m = xcalloc(1, sizeof(*m));
    m->path = xstrdup(path);
    m->handle = handle;
    m->desc = desc;
    *module_r = m;
    return 0;
}

void module_unload(struct module *module)
{
    if (module == NULL)
        return;
    dlclose(module->handle);
    free(module->path);
    free(module);
}

const struct pandora_module *module_descriptor(const struct module *module)
{
    return module->desc;
}

const char *module_path(const struct module *module)
{
    return module->path;
}
