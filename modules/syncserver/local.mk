# ---- modules/syncserver: pull agent data from Tentacle buffers

# The Tentacle client and its TLS side, shared by the module and its tests.
noinst_LTLIBRARIES += modules/syncserver/libtentacle.la
modules_syncserver_libtentacle_la_SOURCES = \
	modules/syncserver/tentacle.c modules/syncserver/tentacle.h \
	modules/syncserver/tls.c modules/syncserver/tls.h
modules_syncserver_libtentacle_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
modules_syncserver_libtentacle_la_LIBADD = $(GNUTLS_LIBS)

# The module itself.
module_LTLIBRARIES += modules/syncserver/syncserver.la
modules_syncserver_syncserver_la_SOURCES = \
	modules/syncserver/syncserver.c \
	modules/syncserver/ss.h modules/syncserver/ssconf.h \
	modules/syncserver/remotes.c modules/syncserver/remotes.h \
	modules/syncserver/settle.c modules/syncserver/settle.h \
	modules/syncserver/plan.c modules/syncserver/plan.h \
	modules/syncserver/pressure.c modules/syncserver/pressure.h \
	modules/syncserver/health.c modules/syncserver/health.h \
	modules/syncserver/pull.c modules/syncserver/pull.h \
	modules/syncserver/pushstate.c modules/syncserver/pushstate.h \
	modules/syncserver/confsync.c modules/syncserver/confsync.h \
	modules/syncserver/cycle.c modules/syncserver/cycle.h
modules_syncserver_syncserver_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) \
	-fvisibility=hidden
modules_syncserver_syncserver_la_LDFLAGS = $(MODULE_LINK_FLAGS)
modules_syncserver_syncserver_la_LIBADD = modules/syncserver/libtentacle.la

if HAVE_CHECK
# The module's pure logic, linked straight into a Check suite.
check_PROGRAMS += t/check_ss_logic
TESTS += t/check_ss_logic
t_check_ss_logic_SOURCES = t/check_ss_logic.c t/testutil.c t/testutil.h \
	modules/syncserver/remotes.c modules/syncserver/settle.c \
	modules/syncserver/plan.c modules/syncserver/cycle.c \
	modules/syncserver/pull.c modules/syncserver/pressure.c \
	modules/syncserver/pushstate.c modules/syncserver/confsync.c \
	modules/syncserver/health.c modules/syncserver/syncserver.c
t_check_ss_logic_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(GNUTLS_CFLAGS) \
	-iquote $(top_srcdir)/modules/syncserver
t_check_ss_logic_LDADD = modules/syncserver/libtentacle.la $(CHECK_LIBS)
endif
