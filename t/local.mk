# ---- tests: Check suites per core unit, broken test modules, daemon scripts

# Test modules: real shared objects, never installed. -rpath makes libtool
# build a .so for a noinst/check library.
TEST_MODULE_LINK_FLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-no-undefined -rpath $(abs_builddir)/t/modules
check_LTLIBRARIES += \
	t/modules/tick.la \
	t/modules/wrong_abi_major.la \
	t/modules/newer_abi_minor.la \
	t/modules/no_descriptor.la \
	t/modules/init_fails.la \
	t/modules/configure_fails.la \
	t/modules/dup_service.la \
	t/modules/register_after_init.la
t_modules_tick_la_SOURCES = t/modules/tick.c
t_modules_tick_la_LDFLAGS = $(TEST_MODULE_LINK_FLAGS)
t_modules_wrong_abi_major_la_SOURCES = t/modules/wrong_abi_major.c
t_modules_wrong_abi_major_la_LDFLAGS = $(TEST_MODULE_LINK_FLAGS)
t_modules_newer_abi_minor_la_SOURCES = t/modules/newer_abi_minor.c
t_modules_newer_abi_minor_la_LDFLAGS = $(TEST_MODULE_LINK_FLAGS)
t_modules_no_descriptor_la_SOURCES = t/modules/no_descriptor.c
t_modules_no_descriptor_la_LDFLAGS = $(TEST_MODULE_LINK_FLAGS)
t_modules_init_fails_la_SOURCES = t/modules/init_fails.c
t_modules_init_fails_la_LDFLAGS = $(TEST_MODULE_LINK_FLAGS)
t_modules_configure_fails_la_SOURCES = t/modules/configure_fails.c
t_modules_configure_fails_la_LDFLAGS = $(TEST_MODULE_LINK_FLAGS)
t_modules_dup_service_la_SOURCES = t/modules/dup_service.c
t_modules_dup_service_la_LDFLAGS = $(TEST_MODULE_LINK_FLAGS)
t_modules_register_after_init_la_SOURCES = t/modules/register_after_init.c
t_modules_register_after_init_la_LDFLAGS = $(TEST_MODULE_LINK_FLAGS)

if HAVE_CHECK
CHECK_UNITS = conf confitem hostconf spool sched log status module service fake_host
CHECK_SUITES = \
	t/check_conf t/check_confitem t/check_hostconf t/check_spool \
	t/check_sched t/check_log t/check_status t/check_module \
	t/check_service t/check_fake_host
check_PROGRAMS += $(CHECK_SUITES)
TESTS += $(CHECK_SUITES)

TEST_CC_FLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBCONFIG_CFLAGS)
TEST_LINK_LIBS = libpandoracore.la $(CHECK_LIBS)
t_check_conf_SOURCES = t/check_conf.c t/testutil.c t/testutil.h
t_check_conf_CFLAGS = $(TEST_CC_FLAGS)
t_check_conf_LDADD = $(TEST_LINK_LIBS)
t_check_confitem_SOURCES = t/check_confitem.c t/testutil.c t/testutil.h
t_check_confitem_CFLAGS = $(TEST_CC_FLAGS)
t_check_confitem_LDADD = $(TEST_LINK_LIBS)
t_check_hostconf_SOURCES = t/check_hostconf.c t/testutil.c t/testutil.h
t_check_hostconf_CFLAGS = $(TEST_CC_FLAGS)
t_check_hostconf_LDADD = $(TEST_LINK_LIBS)
t_check_spool_SOURCES = t/check_spool.c t/testutil.c t/testutil.h
t_check_spool_CFLAGS = $(TEST_CC_FLAGS)
t_check_spool_LDADD = $(TEST_LINK_LIBS)
t_check_sched_SOURCES = t/check_sched.c t/testutil.c t/testutil.h
t_check_sched_CFLAGS = $(TEST_CC_FLAGS)
t_check_sched_LDADD = $(TEST_LINK_LIBS)
t_check_log_SOURCES = t/check_log.c t/testutil.c t/testutil.h
t_check_log_CFLAGS = $(TEST_CC_FLAGS)
t_check_log_LDADD = $(TEST_LINK_LIBS)
t_check_status_SOURCES = t/check_status.c t/testutil.c t/testutil.h
t_check_status_CFLAGS = $(TEST_CC_FLAGS)
t_check_status_LDADD = $(TEST_LINK_LIBS)
t_check_module_SOURCES = t/check_module.c t/hosttest.c t/hosttest.h t/testutil.c t/testutil.h
t_check_module_CFLAGS = $(TEST_CC_FLAGS)
t_check_module_LDADD = $(TEST_LINK_LIBS)
t_check_service_SOURCES = t/check_service.c t/hosttest.c t/hosttest.h t/testutil.c t/testutil.h
t_check_service_CFLAGS = $(TEST_CC_FLAGS)
t_check_service_LDADD = $(TEST_LINK_LIBS)
# A module driven through a fake host: no daemon, no dlopen.
t_check_fake_host_SOURCES = t/check_fake_host.c t/fake_host.c t/fake_host.h \
	t/modules/tick.c t/testutil.c t/testutil.h
t_check_fake_host_CFLAGS = $(TEST_CC_FLAGS) -DTICK_STATIC
t_check_fake_host_LDADD = $(TEST_LINK_LIBS)
endif

# Daemon-level tests: drive pandora_hostd with the tick test module.
DAEMON_TESTS = \
	t/daemon/check_config.sh \
	t/daemon/reload.sh \
	t/daemon/stop.sh \
	t/daemon/crash.sh
dist_check_SCRIPTS += $(DAEMON_TESTS) t/daemon/lib.sh
TESTS += $(DAEMON_TESTS)
EXTRA_DIST += t/outoftree.sh t/outoftree/oot.c t/modules/broken.h

# The Tentacle test peer (a faithful stock tentacle_server with fault knobs),
# the agent simulator, the sequential baseline client and a raw-protocol
# tool. Test-only programs: never installed.
PEER_CC_FLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
check_PROGRAMS += t/peer/tentacle_peer t/peer/agentsim t/peer/baseline t/peer/rawtalk
t_peer_tentacle_peer_SOURCES = t/peer/tentacle_peer.c t/peer/peer.h \
	t/peer/peer_conn.c t/peer/peer_io.c t/peer/peer_tls.c t/peer/peer_fault.c \
	t/peer/peer_route.c t/peer/peer_log.c t/peer/parse_ull.c t/peer/parse_ull.h
t_peer_tentacle_peer_CFLAGS = $(PEER_CC_FLAGS)
t_peer_tentacle_peer_LDADD = $(GNUTLS_LIBS)
t_peer_agentsim_SOURCES = t/peer/agentsim.c t/peer/tclient.c t/peer/tclient.h \
	t/peer/parse_ull.c t/peer/parse_ull.h
t_peer_agentsim_CFLAGS = $(PEER_CC_FLAGS)
t_peer_agentsim_LDADD = $(GNUTLS_LIBS)
t_peer_baseline_SOURCES = t/peer/baseline.c t/peer/tclient.c t/peer/tclient.h \
	t/peer/parse_ull.c t/peer/parse_ull.h
t_peer_baseline_CFLAGS = $(PEER_CC_FLAGS)
t_peer_baseline_LDADD = $(GNUTLS_LIBS)
t_peer_rawtalk_SOURCES = t/peer/rawtalk.c
t_peer_rawtalk_CFLAGS = $(AM_CFLAGS)
PEER_TESTS = t/peer/check_peer.sh
dist_check_SCRIPTS += $(PEER_TESTS) t/peer/make-pki.sh
EXTRA_DIST += t/peer/build.sh
TESTS += $(PEER_TESTS)

include t/ss_tentacle.mk
include t/sync.mk
include t/demo.mk

TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = $(SHELL) $(top_srcdir)/build-aux/test-driver
AM_TESTS_ENVIRONMENT = \
	PANDORA_HOSTD='$(abs_top_builddir)/pandora_hostd'; export PANDORA_HOSTD; \
	TEST_MODULEDIR='$(abs_top_builddir)/t/modules/.libs'; export TEST_MODULEDIR; \
	TEST_SRCDIR='$(abs_top_srcdir)/t'; export TEST_SRCDIR; \
	PEER_BIN_DIR='$(abs_top_builddir)/t/peer'; export PEER_BIN_DIR; \
	SYNC_MODULEDIR='$(abs_top_builddir)/modules/syncserver/.libs'; export SYNC_MODULEDIR; \
	CK_VERBOSITY=$${CK_VERBOSITY:-normal}; export CK_VERBOSITY; \
	CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-20}; export CK_DEFAULT_TIMEOUT;

# After `make install` (distcheck runs this): build a module out of tree
# against the installed plugin.h + pandora-plugin.pc and load it.
installcheck-local:
	$(SHELL) $(srcdir)/t/outoftree.sh '$(DESTDIR)' '$(prefix)' \
	  '$(DESTDIR)$(sbindir)/pandora_hostd' '$(DESTDIR)$(libdir)/pkgconfig'

VALGRIND_FLAGS = -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1
check-valgrind:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(CHECK_SUITES)' \
	  LOG_COMPILER='$(LIBTOOL) --mode=execute valgrind $(VALGRIND_FLAGS)' CK_FORK=no
.PHONY: check-valgrind
include t/status.mk
include t/confsync.mk
