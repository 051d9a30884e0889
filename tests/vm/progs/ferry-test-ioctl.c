// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-ioctl DISK PARTITION: every /dev/ferry ioctl (and mmap) with
 * malformed arguments -- wrong sizes, bad pointers, huge values, reserved
 * fields set, wrong device, wrong state, bad consume positions -- must fail
 * with the documented errno (docs/kmod.md), and the well-formed calls in
 * between must work.  DISK is a scratch whole disk (its first MiB gets
 * written), PARTITION a partition of some disk.  Exit 0 when every check
 * held, 1 otherwise, listing each failed check.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <ferry.h>

static int fd = -1;
static int failures, checks;

#define BAD_PTR		((void *)(uintptr_t)0xffff888000000000ull)

static void expect(const char *what, int ret, int want)
{
	int got = ret < 0 ? errno : 0;

	checks++;
	if (got == want)
		return;
	failures++;
	fprintf(stderr, "FAIL %s: got %s, want %s\n", what,
		got ? strerror(got) : "success", want ? strerror(want) : "success");
}

#define IOC(cmd, arg, want) expect(#cmd " " #arg, ioctl(fd, cmd, arg), want)

static void wrong_sizes(void)
{
	static const unsigned int nrs[] = { 0, 1, 3, 4, 5, 6, 7, 8, 9 };
	char buf[512] = { 0 };
	unsigned int i;

	for (i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		expect("size 8", ioctl(fd, _IOWR(FERRY_IOC_MAGIC, nrs[i], uint64_t), buf), ENOTTY);
		expect("size 300", ioctl(fd, _IOC(_IOC_READ | _IOC_WRITE, FERRY_IOC_MAGIC, nrs[i], 300), buf), ENOTTY);
	}
	expect("unknown nr", ioctl(fd, _IOWR(FERRY_IOC_MAGIC, 0x7f, struct ferry_stats), buf), ENOTTY);
	expect("other magic", ioctl(fd, _IOR('x', 0, struct ferry_info), buf), ENOTTY);
	expect("TEARDOWN with arg bits", ioctl(fd, _IOW(FERRY_IOC_MAGIC, 0x02, int), buf), ENOTTY);
}

static void bad_pointers(void)
{
	static const unsigned long cmds[] = {
		FERRY_IOC_INFO, FERRY_IOC_RING_SETUP, FERRY_IOC_ATTACH,
		FERRY_IOC_DETACH, FERRY_IOC_CONSUME, FERRY_IOC_STATS,
		FERRY_IOC_LIST, FERRY_IOC_CLEAR_RESYNC, FERRY_IOC_FETCH_DIRTY,
		FERRY_IOC_PARK,
	};
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		expect("NULL", ioctl(fd, cmds[i], NULL), EFAULT);
		expect("kernel pointer", ioctl(fd, cmds[i], BAD_PTR), EFAULT);
		expect("pointer 1", ioctl(fd, cmds[i], (void *)1), EFAULT);
	}
}

static void no_ring(dev_t disk)
{
	struct ferry_attach at = { .major = major(disk), .minor = minor(disk) };
	struct ferry_consume c = { 0 };
	struct ferry_stats st = { .disk_id = FERRY_DISK_ALL };
	struct ferry_info info;

	IOC(FERRY_IOC_INFO, &info, 0);
	IOC(FERRY_IOC_ATTACH, &at, ENOBUFS);
	IOC(FERRY_IOC_CONSUME, &c, ENOBUFS);
	IOC(FERRY_IOC_RING_TEARDOWN, NULL, ENOBUFS);
	IOC(FERRY_IOC_STATS, &st, 0);
	expect("mmap without ring",
	       mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0,
	       ENOBUFS);
}

static void ring_setup(void)
{
	struct ferry_ring_setup rs;

	rs = (struct ferry_ring_setup){ .ring_bytes = 1 << 20, .flags = 1 };
	IOC(FERRY_IOC_RING_SETUP, &rs, EINVAL);
	rs = (struct ferry_ring_setup){ .ring_bytes = 1 << 20, .reserved[1] = 7 };
	IOC(FERRY_IOC_RING_SETUP, &rs, EINVAL);
	rs = (struct ferry_ring_setup){ .ring_bytes = 1 << 20, .hdr_size = 4096 };
	IOC(FERRY_IOC_RING_SETUP, &rs, EINVAL);
	rs = (struct ferry_ring_setup){ .ring_bytes = (1 << 20) + 4096 };
	IOC(FERRY_IOC_RING_SETUP, &rs, EINVAL);
	rs = (struct ferry_ring_setup){ .ring_bytes = 4096 };
	IOC(FERRY_IOC_RING_SETUP, &rs, EINVAL);
	rs = (struct ferry_ring_setup){ .ring_bytes = 1ull << 62 };
	IOC(FERRY_IOC_RING_SETUP, &rs, EINVAL);
	rs = (struct ferry_ring_setup){ .ring_bytes = ~0ull };
	IOC(FERRY_IOC_RING_SETUP, &rs, EINVAL);
	rs = (struct ferry_ring_setup){ .ring_bytes = 4ull << 30 };	/* > RAM/2 */
	IOC(FERRY_IOC_RING_SETUP, &rs, ENOMEM);
	rs = (struct ferry_ring_setup){ .ring_bytes = 1 << 20 };
	IOC(FERRY_IOC_RING_SETUP, &rs, 0);
	expect("hdr_size returned", rs.hdr_size == 4096 ? 0 : -1, 0);
	rs = (struct ferry_ring_setup){ .ring_bytes = 1 << 20 };
	IOC(FERRY_IOC_RING_SETUP, &rs, EBUSY);
}

static void *map_checks(void)
{
	size_t len = 4096 + (1 << 20);
	void *m;

	expect("mmap PROT_WRITE",
	       mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0,
	       EPERM);
	expect("mmap too long",
	       mmap(NULL, len + 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0,
	       EINVAL);
	expect("mmap offset",
	       mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096) == MAP_FAILED ? -1 : 0,
	       EINVAL);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	expect("mmap read-only", m == MAP_FAILED ? -1 : 0, 0);
	if (m == MAP_FAILED)
		return NULL;
	expect("mprotect write", mprotect(m, 4096, PROT_READ | PROT_WRITE), EACCES);
	expect("ring magic", ((struct ferry_ring_hdr *)m)->magic == FERRY_RING_MAGIC ? 0 : -1, 0);
	return m;
}

static uint32_t attach_checks(dev_t disk, dev_t part)
{
	struct ferry_attach at;

	at = (struct ferry_attach){ .major = major(disk), .minor = minor(disk), .flags = 1 };
	IOC(FERRY_IOC_ATTACH, &at, EINVAL);
	at = (struct ferry_attach){ .major = major(disk), .minor = minor(disk), .reserved[0] = 1 };
	IOC(FERRY_IOC_ATTACH, &at, EINVAL);
	at = (struct ferry_attach){ .major = major(disk), .minor = minor(disk), .disk_id = 5 };
	IOC(FERRY_IOC_ATTACH, &at, EINVAL);
	at = (struct ferry_attach){ .major = 1u << 12, .minor = 0 };
	IOC(FERRY_IOC_ATTACH, &at, EINVAL);
	at = (struct ferry_attach){ .major = major(disk), .minor = 1u << 20 };
	IOC(FERRY_IOC_ATTACH, &at, EINVAL);
	at = (struct ferry_attach){ .major = 0xfff, .minor = 0xfffff };
	IOC(FERRY_IOC_ATTACH, &at, ENXIO);
	at = (struct ferry_attach){ .major = major(part), .minor = minor(part) };
	IOC(FERRY_IOC_ATTACH, &at, EINVAL);
	at = (struct ferry_attach){ .major = major(disk), .minor = minor(disk) };
	IOC(FERRY_IOC_ATTACH, &at, 0);
	{
		struct ferry_attach again = { .major = major(disk), .minor = minor(disk) };

		IOC(FERRY_IOC_ATTACH, &again, EEXIST);
	}
	return at.disk_id;
}

/* Two writes to DISK so that the ring holds records to consume. */
static void make_records(const char *path)
{
	static char buf[8192] __attribute__((aligned(4096)));
	int d = open(path, O_WRONLY | O_DIRECT);

	memset(buf, 0xa5, sizeof(buf));
	expect("write 1", d < 0 ? -1 : (int)pwrite(d, buf, 8192, 0) - 8192, 0);
	expect("write 2", d < 0 ? -1 : (int)pwrite(d, buf, 4096, 65536) - 4096, 0);
	if (d >= 0)
		close(d);
}

static void consume_checks(const struct ferry_ring_hdr *h)
{
	struct ferry_consume c;
	uint64_t head = h->head;
	const struct ferry_rec *r = (const void *)((const char *)h + h->hdr_size);

	expect("records present", head >= 2 * sizeof(*r) ? 0 : -1, 0);
	c = (struct ferry_consume){ .pos = head + 64 };
	IOC(FERRY_IOC_CONSUME, &c, EINVAL);
	c = (struct ferry_consume){ .pos = ~0ull };
	IOC(FERRY_IOC_CONSUME, &c, EINVAL);
	c = (struct ferry_consume){ .pos = 1 };
	IOC(FERRY_IOC_CONSUME, &c, EINVAL);
	c = (struct ferry_consume){ .pos = 64 };	/* inside the 8 KiB record */
	IOC(FERRY_IOC_CONSUME, &c, EINVAL);
	c = (struct ferry_consume){ .pos = r->size, .reserved[0] = 1 };
	IOC(FERRY_IOC_CONSUME, &c, EINVAL);
	c = (struct ferry_consume){ .pos = r->size };
	IOC(FERRY_IOC_CONSUME, &c, 0);
	c = (struct ferry_consume){ .pos = 0 };		/* behind the tail */
	IOC(FERRY_IOC_CONSUME, &c, EINVAL);
	c = (struct ferry_consume){ .pos = h->head };
	IOC(FERRY_IOC_CONSUME, &c, 0);
	expect("tail == head", h->tail == h->head ? 0 : -1, 0);
}

static void disk_checks(uint32_t id)
{
	struct ferry_stats st;
	struct ferry_list l;
	struct ferry_list_entry e[FERRY_MAX_DISKS];
	struct ferry_detach dt;
	struct ferry_clear_resync cr;
	struct ferry_exclude ex = { .disk_id = id };

	st = (struct ferry_stats){ .disk_id = id + 1000 };
	IOC(FERRY_IOC_STATS, &st, ENOENT);
	st = (struct ferry_stats){ .disk_id = id, .records = 1 };
	IOC(FERRY_IOC_STATS, &st, EINVAL);
	st = (struct ferry_stats){ .disk_id = id };
	IOC(FERRY_IOC_STATS, &st, 0);
	expect("stats attached", st.state & FERRY_DISK_ATTACHED ? 0 : -1, 0);
	expect("stats records", st.records >= 2 ? 0 : -1, 0);

	l = (struct ferry_list){ .count = FERRY_MAX_DISKS + 1, .entries = (uintptr_t)e };
	IOC(FERRY_IOC_LIST, &l, EINVAL);
	l = (struct ferry_list){ .count = 4, .entries = (uintptr_t)BAD_PTR };
	IOC(FERRY_IOC_LIST, &l, EFAULT);
	l = (struct ferry_list){ .count = 1, .total = 3, .entries = (uintptr_t)e };
	IOC(FERRY_IOC_LIST, &l, EINVAL);
	l = (struct ferry_list){ .count = 0 };
	IOC(FERRY_IOC_LIST, &l, 0);
	expect("list total", l.total == 1 ? 0 : -1, 0);

	cr = (struct ferry_clear_resync){ .disk_id = id, .flags = 2 };
	IOC(FERRY_IOC_CLEAR_RESYNC, &cr, EINVAL);
	cr = (struct ferry_clear_resync){ .disk_id = id + 1000 };
	IOC(FERRY_IOC_CLEAR_RESYNC, &cr, ENOENT);
	cr = (struct ferry_clear_resync){ .disk_id = id };
	IOC(FERRY_IOC_CLEAR_RESYNC, &cr, 0);
	(void)ex;

	IOC(FERRY_IOC_RING_TEARDOWN, NULL, EBUSY);	/* disk attached */
	dt = (struct ferry_detach){ .disk_id = id, .flags = 1 };
	IOC(FERRY_IOC_DETACH, &dt, EINVAL);
	dt = (struct ferry_detach){ .disk_id = FERRY_DISK_ALL };
	IOC(FERRY_IOC_DETACH, &dt, ENOENT);
	dt = (struct ferry_detach){ .disk_id = 0 };
	IOC(FERRY_IOC_DETACH, &dt, ENOENT);
	dt = (struct ferry_detach){ .disk_id = id };
	IOC(FERRY_IOC_DETACH, &dt, 0);
	IOC(FERRY_IOC_DETACH, &dt, ENOENT);
}

/* Writes inside excluded ranges are not captured; others still are. */
static void exclude_checks(const struct ferry_ring_hdr *h, uint32_t id,
			   const char *path)
{
	static char buf[8192] __attribute__((aligned(4096)));
	struct ferry_extent ext[3] = {
		{ 256 << 10, 64 << 10 }, { 128 << 10, 64 << 10 }, { 160 << 10, 8192 },
	};
	struct ferry_extent bad[2] = { { 0, 0 }, { ~0ull - 10, 100 } };
	struct ferry_exclude ex;
	struct ferry_consume c;
	uint64_t head;
	int d;

	ex = (struct ferry_exclude){ .disk_id = id, .count = FERRY_MAX_EXCLUDE + 1,
				     .extents = (uintptr_t)ext };
	IOC(FERRY_IOC_EXCLUDE, &ex, EINVAL);
	ex = (struct ferry_exclude){ .disk_id = id, .count = 3, .extents = (uintptr_t)BAD_PTR };
	IOC(FERRY_IOC_EXCLUDE, &ex, EFAULT);
	ex = (struct ferry_exclude){ .disk_id = id, .count = 1, .extents = (uintptr_t)&bad[0] };
	IOC(FERRY_IOC_EXCLUDE, &ex, EINVAL);
	ex = (struct ferry_exclude){ .disk_id = id, .count = 1, .extents = (uintptr_t)&bad[1] };
	IOC(FERRY_IOC_EXCLUDE, &ex, EINVAL);
	ex = (struct ferry_exclude){ .disk_id = id + 1000, .count = 0 };
	IOC(FERRY_IOC_EXCLUDE, &ex, ENOENT);
	ex = (struct ferry_exclude){ .disk_id = id, .count = 3, .extents = (uintptr_t)ext,
				     .reserved[0] = 1 };
	IOC(FERRY_IOC_EXCLUDE, &ex, EINVAL);
	ex = (struct ferry_exclude){ .disk_id = id, .count = 3, .extents = (uintptr_t)ext };
	IOC(FERRY_IOC_EXCLUDE, &ex, 0);

	d = open(path, O_WRONLY | O_DIRECT);
	head = h->head;
	expect("excluded write", d < 0 ? -1 : (int)pwrite(d, buf, 4096, 132 << 10) - 4096, 0);
	expect("excluded write (merged extent)", d < 0 ? -1 : (int)pwrite(d, buf, 4096, 300 << 10) - 4096, 0);
	expect("excluded writes not captured", h->head == head ? 0 : -1, 0);
	expect("straddling write", d < 0 ? -1 : (int)pwrite(d, buf, 8192, 124 << 10) - 8192, 0);
	expect("straddling write captured", h->head > head ? 0 : -1, 0);
	ex = (struct ferry_exclude){ .disk_id = id, .count = 0 };
	IOC(FERRY_IOC_EXCLUDE, &ex, 0);
	head = h->head;
	expect("write after clearing", d < 0 ? -1 : (int)pwrite(d, buf, 4096, 132 << 10) - 4096, 0);
	expect("captured after clearing", h->head > head ? 0 : -1, 0);
	if (d >= 0)
		close(d);
	c = (struct ferry_consume){ .pos = h->head };
	IOC(FERRY_IOC_CONSUME, &c, 0);
}

static int write_block0(const char *path)
{
	void *buf = NULL;
	int d = open(path, O_WRONLY | O_DIRECT), ret = -1;

	if (d >= 0 && !posix_memalign(&buf, 4096, 4096)) {
		memset(buf, 0xa5, 4096);
		if (pwrite(d, buf, 4096, 0) == 4096)
			ret = 0;
	}
	free(buf);
	if (d >= 0)
		close(d);
	return ret;
}

static uint64_t dirty_bits(uint32_t id)
{
	struct ferry_stats st = { .disk_id = id };

	return ioctl(fd, FERRY_IOC_STATS, &st) ? ~0ull : st.dirty_bits;
}

/*
 * PARK and FETCH_DIRTY: bad ids, unknown flags, reserved and out fields
 * set, short buffers, pointers that fault.  A fetch that cannot copy out
 * keeps every bit: the next good fetch still finds the one bit set.
 */
static void mode_checks(uint32_t id, const char *path)
{
	struct ferry_stats st = { .disk_id = id };
	struct ferry_park pk;
	struct ferry_fetch_dirty fd_ok, f;
	uint8_t *bm, *ro;
	uint64_t bytes;

	IOC(FERRY_IOC_STATS, &st, 0);
	bytes = st.bitmap_bytes;
	expect("bitmap bytes", bytes && st.bitmap_granule >= 4096 ? 0 : -1, 0);
	bm = calloc(1, bytes + 64);
	ro = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!bm || ro == MAP_FAILED) {
		expect("memory for the bitmap", -1, 0);
		return;
	}

	pk = (struct ferry_park){ .disk_id = id + 1000 };
	IOC(FERRY_IOC_PARK, &pk, ENOENT);
	pk = (struct ferry_park){ .disk_id = FERRY_DISK_ALL };
	IOC(FERRY_IOC_PARK, &pk, ENOENT);
	pk = (struct ferry_park){ .disk_id = id, .flags = 1 };
	IOC(FERRY_IOC_PARK, &pk, EINVAL);
	pk = (struct ferry_park){ .disk_id = id, .reserved[1] = 1 };
	IOC(FERRY_IOC_PARK, &pk, EINVAL);
	pk = (struct ferry_park){ .disk_id = id };
	IOC(FERRY_IOC_PARK, &pk, 0);
	IOC(FERRY_IOC_PARK, &pk, 0);		/* parked already: fine */
	expect("write while parked", write_block0(path), 0);
	expect("one dirty bit", dirty_bits(id) == 1 ? 0 : -1, 0);

	fd_ok = (struct ferry_fetch_dirty){ .disk_id = id,
		.flags = FERRY_FETCH_KEEP_MODE, .bitmap = (uintptr_t)bm,
		.bytes = bytes };
	f = fd_ok;
	f.disk_id = id + 1000;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, ENOENT);
	f = fd_ok;
	f.flags = 2;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EINVAL);
	f = fd_ok;
	f.flags = ~0u;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EINVAL);
	f = fd_ok;
	f.reserved0 = 1;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EINVAL);
	f = fd_ok;
	f.reserved[1] = 1;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EINVAL);
	f = fd_ok;
	f.granule = 4096;			/* an out field */
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EINVAL);
	f = fd_ok;
	f.taken = 1;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EINVAL);
	f = fd_ok;
	f.bytes = bytes - 1;			/* short buffer */
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EINVAL);
	f = fd_ok;
	f.bytes = 0;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EINVAL);
	expect("bit kept after refused fetches", dirty_bits(id) == 1 ? 0 : -1, 0);

	f = fd_ok;
	f.bitmap = (uintptr_t)BAD_PTR;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EFAULT);
	f = fd_ok;
	f.bitmap = 0;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EFAULT);
	f = fd_ok;
	f.bitmap = (uintptr_t)ro;		/* mapped, not writable */
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EFAULT);
	f = fd_ok;
	f.flags = 0;				/* leaving bitmap mode too */
	f.bitmap = (uintptr_t)ro;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, EFAULT);
	expect("bit kept after faulting fetches", dirty_bits(id) == 1 ? 0 : -1, 0);

	f = fd_ok;
	f.bytes = bytes + 64;			/* longer is fine */
	IOC(FERRY_IOC_FETCH_DIRTY, &f, 0);
	expect("second fetch finds the bit", f.taken == 1 && (bm[0] & 1) ? 0 : -1, 0);
	expect("nothing left", dirty_bits(id) == 0 ? 0 : -1, 0);
	f = fd_ok;
	f.flags = 0;
	IOC(FERRY_IOC_FETCH_DIRTY, &f, 0);
	expect("data mode after a plain fetch",
	       f.mode == FERRY_MODE_DATA && !f.taken ? 0 : -1, 0);
	munmap(ro, bytes);
	free(bm);
}

static dev_t rdev(const char *path)
{
	struct stat st;

	if (stat(path, &st) || !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "ferry-test-ioctl: %s: not a block device\n", path);
		exit(2);
	}
	return st.st_rdev;
}

int main(int argc, char **argv)
{
	struct pollfd pfd;
	dev_t disk, part;
	uint32_t id;
	void *map;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DISK PARTITION\n", argv[0]);
		return 2;
	}
	disk = rdev(argv[1]);
	part = rdev(argv[2]);
	fd = open(FERRY_DEVICE_PATH, O_RDWR);
	if (fd < 0) {
		perror(FERRY_DEVICE_PATH);
		return 1;
	}
	wrong_sizes();
	bad_pointers();
	no_ring(disk);
	ring_setup();
	map = map_checks();
	id = attach_checks(disk, part);
	make_records(argv[1]);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	expect("poll readable", poll(&pfd, 1, 5000) == 1 ? 0 : -1, 0);
	if (map) {
		consume_checks(map);
		exclude_checks(map, id, argv[1]);
	}
	mode_checks(id, argv[1]);
	disk_checks(id);
	IOC(FERRY_IOC_RING_TEARDOWN, NULL, map ? EBUSY : 0);	/* mapped */
	if (map)
		munmap(map, 4096 + (1 << 20));
	IOC(FERRY_IOC_RING_TEARDOWN, NULL, 0);
	IOC(FERRY_IOC_RING_TEARDOWN, NULL, ENOBUFS);
	close(fd);
	printf("ferry-test-ioctl: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
