# ---- syncserver integration tests: pandora_hostd with the syncserver module
# against the Tentacle test peer (t/peer). They need PANDORA_HOSTD,
# PEER_BIN_DIR, TEST_SRCDIR and SYNC_MODULEDIR (lib.sh defaults the last one
# to <dir of PANDORA_HOSTD>/modules/syncserver/.libs).
SYNC_TESTS = \
	t/sync/drain.sh \
	t/sync/refuse.sh \
	t/sync/settle.sh \
	t/sync/hostile.sh \
	t/sync/broken.sh \
	t/sync/crash.sh \
	t/sync/backpressure.sh
dist_check_SCRIPTS += $(SYNC_TESTS) t/sync/lib.sh
TESTS += $(SYNC_TESTS)
