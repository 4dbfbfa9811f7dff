# check_ss_tentacle: the Tentacle client (modules/syncserver/tentacle.c, tls.c)
# against the test peer in t/peer/ (started per test on 127.0.0.x, kernel-picked
# ports; make check exports PEER_BIN_DIR and TEST_SRCDIR for it).
if HAVE_CHECK
check_PROGRAMS += t/check_ss_tentacle
TESTS += t/check_ss_tentacle
t_check_ss_tentacle_SOURCES = t/check_ss_tentacle.c t/testutil.c t/testutil.h
t_check_ss_tentacle_CFLAGS = $(TEST_CC_FLAGS) $(GNUTLS_CFLAGS) \
	-iquote $(top_srcdir)/modules/syncserver
t_check_ss_tentacle_LDADD = modules/syncserver/libtentacle.la $(TEST_LINK_LIBS)
endif
