# Programs run inside the VM scenarios (copied into the guest with
# build/bin) or by their host hooks; not run by the integration runner.
BINS += ferry-test-blkops ferry-test-replay ferry-test-ioctl \
	ferry-test-ringfull ferry-test-cycles ferry-test-stats ferry-test-modes \
	ferry-test-pool
ferry-test-blkops_SRCS := tests/vm/progs/ferry-test-blkops.c
ferry-test-replay_SRCS := tests/vm/progs/ferry-test-replay.c
ferry-test-ioctl_SRCS := tests/vm/progs/ferry-test-ioctl.c
ferry-test-ringfull_SRCS := tests/vm/progs/ferry-test-ringfull.c
ferry-test-cycles_SRCS := tests/vm/progs/ferry-test-cycles.c
ferry-test-modes_SRCS := tests/vm/progs/ferry-test-modes.c
ferry-test-pool_SRCS := tests/vm/progs/ferry-test-pool.c
ferry-test-stats_SRCS := tests/vm/progs/ferry-test-stats.c

# Guest driver scripts land in build/bin like the programs.
VM_SCRIPTS := ferry-test-capture
userspace: $(addprefix $(BIN)/,$(VM_SCRIPTS))
$(BIN)/ferry-test-%: tests/vm/progs/ferry-test-%.sh
	@mkdir -p $(dir $@)
	install -m 0755 $< $@
