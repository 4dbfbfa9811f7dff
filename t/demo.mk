# ---- make demo, make bench: the syncserver end to end, on loopback only
#
# demo: two Tentacle test peers (plain + password, mutual TLS), agent
#   simulators and pandora_hostd in the foreground; live progress, then a
#   check that every uploaded file arrived once (t/demo/demo.sh; DEMO_SECONDS,
#   DEMO_RATE, DEMO_AGENTS, DEMO_DELIVERY, KEEP=1 tune it).
# bench: a markdown table of throughput ratios and peak RSS measured in one
#   run (t/bench/bench.sh; BENCH_FILES, BENCH_OUT=file, ...). Fails only when
#   files were lost, never on the numbers.
# Both need the check programs of the test peer, so they build them first.

DEMO_PEER_TOOLS = t/peer/tentacle_peer$(EXEEXT) t/peer/agentsim$(EXEEXT) \
	t/peer/baseline$(EXEEXT) t/freeport$(EXEEXT)
DEMO_ENVIRONMENT = \
	PANDORA_HOSTD='$(abs_top_builddir)/pandora_hostd$(EXEEXT)' \
	SYNC_MODULEDIR='$(abs_top_builddir)/modules/syncserver/.libs' \
	PEER_BIN_DIR='$(abs_top_builddir)/t/peer' \
	FREEPORT='$(abs_top_builddir)/t/freeport' \
	TEST_SRCDIR='$(abs_top_srcdir)/t'

EXTRA_DIST += t/demo/demo.sh t/bench/bench.sh

demo:
	$(MAKE) $(AM_MAKEFLAGS) all $(DEMO_PEER_TOOLS)
	$(DEMO_ENVIRONMENT) bash '$(abs_top_srcdir)/t/demo/demo.sh'

bench:
	$(MAKE) $(AM_MAKEFLAGS) all $(DEMO_PEER_TOOLS)
	$(DEMO_ENVIRONMENT) bash '$(abs_top_srcdir)/t/bench/bench.sh'

.PHONY: demo bench
