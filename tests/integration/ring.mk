# integ-ring: the kernel's ring producer (kmod/ferry_ring.c, compiled with
# the userspace shim) against the library's reader (lib/ring.c).
INTEG_TESTS += integ-ring
integ-ring_SRCS := tests/integration/ring.c kmod/ferry_ring.c
$(O)/kmod/ferry_ring.o $(O)/tests/integration/ring.o: \
	CPPFLAGS += -include tests/integration/kshim.h -Ikmod
