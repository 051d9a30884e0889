# ferry-test-uring: run in every kernel of the VM matrix (see ferry-test-uring.c).
BINS += ferry-test-uring
ferry-test-uring_SRCS := tests/vm/kernels/ferry-test-uring.c
