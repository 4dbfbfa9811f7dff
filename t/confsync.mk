# ---- config sync (issue 5): the push state's pure parts under Check, and
# the end-to-end script against the test peer (same environment as the
# other t/sync tests: PANDORA_HOSTD, PEER_BIN_DIR, TEST_SRCDIR).
if HAVE_CHECK
check_PROGRAMS += t/check_ss_confsync
TESTS += t/check_ss_confsync
t_check_ss_confsync_SOURCES = t/check_ss_confsync.c t/testutil.c t/testutil.h \
	modules/syncserver/pushstate.c modules/syncserver/pushstate.h
t_check_ss_confsync_CFLAGS = $(TEST_CC_FLAGS) $(GNUTLS_CFLAGS) \
	-iquote $(top_srcdir)/modules/syncserver
t_check_ss_confsync_LDADD = $(GNUTLS_LIBS) $(TEST_LINK_LIBS)
endif

dist_check_SCRIPTS += t/sync/confsync.sh
TESTS += t/sync/confsync.sh
