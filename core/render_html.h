/*
 * render_html - the status page: one self-contained HTML5 document (no
 * external scripts, fonts, styles or images), readable without JavaScript,
 * refreshing itself, usable on a phone-width window.
 *
 * Per service: running or why not, its fields, and one table per status
 * table. Known fields (render.h) are grouped into columns (state, last
 * success, last error, pulled, pushed, backlog, TLS...); any other field is
 * listed in an "Other" column, so new module fields show up unchanged.
 * Rows carry data-remote/data-state attributes; failing rows stand out.
 *
 * Rows of a "remotes" table get a "Poll now" button. Without JavaScript the
 * buttons stay hidden (a note says to use pandora_hostd --poll); with it, a
 * small inline script POSTs remotes/<id>/poll with the X-Pandora-Poll
 * header that the listener requires.
 *
 * OWNERSHIP *html_r is malloc'd, NUL-terminated; the caller frees it.
 * THREADS   reentrant; the model is only read.
 */
#ifndef CORE_RENDER_HTML_H
#define CORE_RENDER_HTML_H

#include <stddef.h>
#include <time.h>

#include "status.h"

#define RENDER_HTML_CONTENT_TYPE "text/html; charset=utf-8"

/* The inline <script> and <style> texts, exactly as on the page; the
 * Content-Security-Policy below allows only these (by SHA-256), and
 * check_render recomputes the hashes. */
extern const char render_html_script[];
extern const char render_html_style[];

#define RENDER_HTML_SCRIPT_SHA256 "sha256-ACH1YlwpP0aMq6K/51uHiFfN2vn0uFKvQ1YXBkAtBLQ="
#define RENDER_HTML_STYLE_SHA256 "sha256-FRBhoH8Ilfl/O2nPjvGLVAkL+OuFjz2tTzoIF1DS+Pw="

/* The page's Content-Security-Policy: nothing from anywhere but the two
 * inline blocks and fetch() to this origin. */
#define RENDER_HTML_CSP                                                      \
    "default-src 'none'; script-src '" RENDER_HTML_SCRIPT_SHA256 "'; "       \
    "style-src '" RENDER_HTML_STYLE_SHA256 "'; connect-src 'self'; "         \
    "img-src 'none'; base-uri 'none'; form-action 'none'; "                  \
    "frame-ancestors 'none'"

/* refresh_seconds: the meta refresh period, 0 for none. */
int render_html(const struct pandora_status *st, time_t now,
                unsigned refresh_seconds, char **html_r, size_t *len_r);

#endif
