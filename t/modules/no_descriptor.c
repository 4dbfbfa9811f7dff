/* no_descriptor.c - a shared object that is not a module at all */
#include "config.h"

int no_descriptor_here(void);

int no_descriptor_here(void)
{
    return 42;
}
