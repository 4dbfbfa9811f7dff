/*
 * httpd - the status listener (libmicrohttpd) on status.listen/status.port:
 *
 *   GET  /                      the status page (render_html)
 *   GET  /status.json           the model as JSON (status_to_json)
 *   GET  /metrics               Prometheus text (render_metrics)
 *   GET  /healthz               200 "ok" when every service runs, else 503
 *                               and the reason
 *   POST /remotes/<name>/poll   poll one remote now; needs the header
 *                               "X-Pandora-Poll: 1" (a page elsewhere cannot
 *                               send it without a CORS preflight we never
 *                               grant), 403 without it
 *
 * HEAD works where GET does. Unknown paths get 404; a known path with
 * another method 405 and Allow; headers larger than the memory limit 431;
 * a client idle for the timeout is disconnected; connections are limited in
 * total and per address.
 *
 * Access: with status.token_file, every request needs
 * "Authorization: Bearer <token>" (or Basic with the token as password, so a
 * browser can log in); compared in constant time, never logged or echoed.
 * Without a token the listener must be on a loopback address (start refuses
 * otherwise), and a request's Host must be an IP address or "localhost", so
 * a DNS-rebinding page cannot read the status or poll through the browser.
 * So a poll is either from this host or authenticated (DESIGN.md 2.3 "poll
 * now": loopback only, unless the operator set a token).
 *
 * The listener knows nothing of the host: it asks a source for snapshots
 * and polls, and renders them itself. Modules never touch HTTP.
 *
 * THREADS: httpd_start, httpd_token_reload and httpd_stop run on the main
 * thread. The source's callbacks run on the listener's own thread, one
 * request at a time, concurrently with the main thread.
 */
#ifndef CORE_HTTPD_H
#define CORE_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <pandora/plugin.h>

struct httpd;
struct hostconf_status;

/* The header a poll request must carry, and its value. */
#define HTTPD_POLL_HEADER "X-Pandora-Poll"
#define HTTPD_POLL_VALUE "1"

/* Seconds between the status page's own refreshes. */
#define HTTPD_PAGE_REFRESH 10

struct httpd_source {
    /*
     * snapshot - a fresh model, freed by the listener with status_free; NULL
     * when the host cannot answer now (a reload is replacing it): 503.
     */
    struct pandora_status *(*snapshot)(void *cls);
    /*
     * poll - ask the services to work on `target` now: 0; -ENOENT when no
     * service knows it; -EAGAIN when the host cannot answer now.
     */
    int (*poll)(void *cls, const char *target);
    void *cls;
};

struct httpd_limits {
    unsigned connections;   /* open at once, all clients */
    unsigned per_ip;        /* open at once from one address */
    unsigned timeout_s;     /* idle seconds before a connection is closed */
    size_t memory;          /* per connection; bounds the request headers */
};

#define HTTPD_LIMITS_DEFAULT { 32, 8, 10, 32 * 1024 }

/*
 * httpd_addr_parse - status.listen ("127.0.0.1", "::1", "0.0.0.0",
 * "localhost") and port into a socket address; *loopback_r tells whether
 * only this host can connect. -EINVAL for anything but an IP address or
 * "localhost" (no name lookups: the address must not depend on DNS).
 */
int httpd_addr_parse(const char *listen, unsigned port,
                     struct sockaddr_storage *sa_r, socklen_t *len_r,
                     bool *loopback_r);

/*
 * httpd_token_load - read a token file: one line of printable characters
 * without spaces (a trailing newline is fine). *token_r is malloc'd; wipe
 * and free it with httpd_token_free. Errors name the file, never the token.
 */
int httpd_token_load(const char *path, char **token_r,
                     struct pandora_error *error_r);
void httpd_token_free(char *token);

/*
 * httpd_start - listen on conf->listen:conf->port (port 0: the kernel
 * picks; see httpd_port) and serve from `src` (copied). conf_path names
 * pandora_hostd.conf in errors. limits NULL: HTTPD_LIMITS_DEFAULT.
 * RETURN VALUE 0; -EINVAL for a non-loopback listen without a token file,
 * a bad address or token file; -errno when the address cannot be bound.
 * error_r says what to change.
 */
int httpd_start(const struct hostconf_status *conf, const char *conf_path,
                const struct httpd_limits *limits,
                const struct httpd_source *src, struct httpd **httpd_r,
                struct pandora_error *error_r);

/* httpd_port - the port actually listened on; httpd_address - the same
 * with the address, as in a URL: "127.0.0.1:41180", "[::1]:41180". */
unsigned httpd_port(const struct httpd *httpd);
const char *httpd_address(const struct httpd *httpd);

/*
 * httpd_token_reload - read the token file again (SIGHUP: token rotation).
 * On error the previous token stays in force. token_file NULL drops the
 * token, which is refused (-EINVAL) when not on loopback.
 */
int httpd_token_reload(struct httpd *httpd, const char *token_file,
                       struct pandora_error *error_r);

/* httpd_stop - close the listener and every connection; NULL is fine. */
void httpd_stop(struct httpd *httpd);

#endif
