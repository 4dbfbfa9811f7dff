/*
 * confitem - typed configuration tables (struct pandora_conf_item): parse a
 * value into a service's conf struct, apply defaults and fallbacks, print
 * the effective settings with secrets masked, free what was filled.
 *
 * Shared by conf (pandora_server.conf keys) and hostconf (libconfig lists).
 */
#ifndef CORE_CONFITEM_H
#define CORE_CONFITEM_H

#include <stdbool.h>
#include <stdio.h>

#include <pandora/plugin.h>

struct conf;

/*
 * confitem_table_check - is a module's table well formed (keys present and
 * unique, known types, min <= max, ENUM has choices, defaults parse)?
 * -EINVAL with error_r naming the key otherwise.
 */
int confitem_table_check(const struct pandora_conf_item *items,
                         struct pandora_error *error_r);

/*
 * confitem_parse - parse one text value for `item` into `out` (the conf
 * struct base). On failure returns -EINVAL and writes into why[whylen] what
 * was expected, e.g. "expected a whole number from 1 to 65535, got 'x'"
 * (never the value of a SECRET item). A previous string at that offset is
 * freed on success.
 */
int confitem_parse(const struct pandora_conf_item *item, const char *text,
                   void *out, char *why, size_t whylen);

/*
 * confitem_apply - fill `out` (zeroed, sized for the table) from conf: for
 * each item its key, else its fallback key, else its default. The first bad
 * value fails with -EINVAL: "FILE:LINE: KEY: expected ..." (defaults that do
 * not parse name the table). On failure `out` is freed with confitem_free.
 */
int confitem_apply(const struct pandora_conf_item *items,
                   const struct conf *conf, void *out,
                   struct pandora_error *error_r);

/* confitem_free - free the strings filled into out (not out itself). */
void confitem_free(const struct pandora_conf_item *items, void *out);

/*
 * confitem_print - one "key value" line per item with its effective value,
 * each prefixed by `indent`; SECRET as ********, unset as "(unset)".
 */
void confitem_print(FILE *fp, const struct pandora_conf_item *items,
                    const void *out, const char *indent);

/*
 * confitem_equal - do two filled structs hold the same values for every
 * item? (A reload keeps a service whose settings did not change.)
 */
bool confitem_equal(const struct pandora_conf_item *items, const void *a,
                    const void *b);

#endif
