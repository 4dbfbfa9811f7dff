/* parse_ull.h - strict number parsing shared by the test peer and its
 * clients (test-only). */
#ifndef PARSE_ULL_H
#define PARSE_ULL_H

/* parse_ull - strict decimal: digits only, no sign, no overflow, <= max;
 * 0, or -1 for anything else */
int parse_ull(const char *s, unsigned long long max, unsigned long long *out);

#endif
