/* parse_ull.c - strict decimal numbers for options and replies (test-only) */
#include <errno.h>
#include <stdlib.h>

#include "parse_ull.h"

int parse_ull(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}
