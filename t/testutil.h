/* testutil - small helpers shared by the Check suites (test code only). */
#ifndef T_TESTUTIL_H
#define T_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

/* tu_tmpdir - a fresh directory under $TMPDIR (or /tmp); caller frees the
 * string and removes the tree with tu_rmtree. Aborts the test on failure. */
char *tu_tmpdir(void);
void tu_rmtree(const char *dir);

/* tu_write - create/replace dir/name with text (NULL dir: name is a path). */
void tu_write(const char *dir, const char *name, const char *text);
/* tu_read - whole file as a malloc'd string, NULL if it cannot be read. */
char *tu_read(const char *dir, const char *name);
bool tu_exists(const char *dir, const char *name);
/* tu_count - entries in dir (without . and ..) whose name starts with
 * prefix ("" counts all). */
unsigned tu_count(const char *dir, const char *prefix);
/* tu_fd_with - an fd at offset 0 of an unlinked temp file holding len bytes
 * of data (or of a repeating pattern when data is NULL). */
int tu_fd_with(const void *data, size_t len);

/* tu_run_suite - run a suite (CK_* environment honoured) and give main()'s
 * exit status: 0 all passed, 1 a failure, 99 when no test ran at all (an
 * unknown CK_RUN_CASE must not look like a pass). */
int tu_run_suite(Suite *suite);

#endif
