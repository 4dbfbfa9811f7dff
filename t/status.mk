# ---- tests of the status listener and its renderers (issue 6):
# included from t/local.mk

if HAVE_CHECK
STATUS_SUITES = t/check_render t/check_httpd
check_PROGRAMS += $(STATUS_SUITES)
TESTS += $(STATUS_SUITES)
t_check_render_SOURCES = t/check_render.c t/testutil.c t/testutil.h
t_check_render_CFLAGS = $(TEST_CC_FLAGS) $(GNUTLS_CFLAGS)
t_check_render_LDADD = $(TEST_LINK_LIBS) $(GNUTLS_LIBS)
t_check_httpd_SOURCES = t/check_httpd.c t/testutil.c t/testutil.h
t_check_httpd_CFLAGS = $(TEST_CC_FLAGS)
t_check_httpd_LDADD = $(TEST_LINK_LIBS)
endif

# freeport: a TCP port free on an address right now (the daemon test's
# status.port); never installed
check_PROGRAMS += t/freeport
t_freeport_SOURCES = t/freeport.c

STATUS_DAEMON_TESTS = t/daemon/status.sh
dist_check_SCRIPTS += $(STATUS_DAEMON_TESTS) t/status-screenshot.sh
TESTS += $(STATUS_DAEMON_TESTS)
