// SPDX-License-Identifier: GPL-2.0
/*
 * ring: reading ferry.ko's capture ring and driving /dev/ferry.  The ring
 * is written by the kernel only; still, nothing read from it is trusted
 * before it is checked against the header and the producer's head.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <ferry/crc32c.h>
#include <ferry/ring.h>

static uint64_t load_acquire(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

int ring_reader_init(struct ring_reader *r, const void *map, size_t len)
{
	const struct ferry_ring_hdr *hdr = map;
	uint64_t size;

	if (len < sizeof(*hdr))
		return -EINVAL;
	if (hdr->magic != FERRY_RING_MAGIC || hdr->version != FERRY_UAPI_VERSION ||
	    hdr->rec_align != FERRY_REC_ALIGN || hdr->hdr_size < sizeof(*hdr) ||
	    hdr->hdr_size % FERRY_REC_ALIGN)
		return -EPROTO;
	size = hdr->data_size;
	if (size < FERRY_REC_ALIGN || (size & (size - 1)))
		return -EPROTO;
	if (len < hdr->hdr_size + size)
		return -EINVAL;
	r->hdr = hdr;
	r->data = (const uint8_t *)map + hdr->hdr_size;
	r->size = size;
	r->pos = load_acquire(&hdr->tail);
	return 0;
}

/* The header at r->pos, committed and below head, checked.  1, 0, -errno. */
static int ring_reader_peek(struct ring_reader *r, const struct ferry_rec **out)
{
	uint64_t head = load_acquire(&r->hdr->head);
	uint64_t off = r->pos & (r->size - 1);
	const struct ferry_rec *rec;
	uint64_t size;

	if (r->pos < load_acquire(&r->hdr->tail))
		return -ESTALE;
	if (r->pos >= head)
		return 0;
	rec = (const struct ferry_rec *)(r->data + off);
	if (load_acquire(&rec->pos) != r->pos)
		return 0;
	size = rec->size;
	if (size < sizeof(*rec) || size % FERRY_REC_ALIGN ||
	    size > head - r->pos || off + size > r->size)
		return -EBADMSG;
	if (rec->op != FERRY_OP_PAD &&
	    size != sizeof(*rec) + ((ring_rec_payload_len(rec) +
				     FERRY_REC_ALIGN - 1) & ~(FERRY_REC_ALIGN - 1)))
		return -EBADMSG;
	*out = rec;
	return 1;
}

int ring_reader_next(struct ring_reader *r, const struct ferry_rec **out)
{
	const struct ferry_rec *rec;
	int ret;

	for (;;) {
		ret = ring_reader_peek(r, &rec);
		if (ret <= 0)
			return ret;
		r->pos += rec->size;
		if (rec->op != FERRY_OP_PAD)
			break;
	}
	if (rec->op > FERRY_OP_DIRTY)
		return -EBADMSG;
	*out = rec;
	return 1;
}

int ring_rec_verify(const struct ferry_rec *rec)
{
	uint32_t len = ring_rec_payload_len(rec);

	return crc32c(0, ring_rec_payload(rec), len) == rec->crc ? 0 : -EBADMSG;
}

/* ---- /dev/ferry ---------------------------------------------------- */

static int ferry_ioctl(struct ferry_dev *d, unsigned long cmd, void *arg)
{
	return ioctl(d->fd, cmd, arg) < 0 ? -errno : 0;
}

static int ferry_dev_map(struct ferry_dev *d)
{
	struct ferry_info info = { 0 };
	long page = sysconf(_SC_PAGESIZE);
	int ret;

	ret = ferry_ioctl(d, FERRY_IOC_INFO, &info);
	if (ret)
		return ret;
	if (!info.ring_bytes)
		return -ENOBUFS;
	d->map_len = page + info.ring_bytes;
	d->map = mmap(NULL, d->map_len, PROT_READ, MAP_SHARED, d->fd, 0);
	if (d->map == MAP_FAILED) {
		d->map = NULL;
		return -errno;
	}
	return ring_reader_init(&d->rd, d->map, d->map_len);
}

int ferry_dev_open(struct ferry_dev *d, const char *path, uint64_t ring_bytes)
{
	struct ferry_ring_setup rs = { .ring_bytes = ring_bytes };
	int ret;

	memset(d, 0, sizeof(*d));
	d->fd = open(path ? path : FERRY_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return -errno;
	ret = ferry_ioctl(d, FERRY_IOC_RING_SETUP, &rs);
	if (ret && ret != -EBUSY)
		goto out_close;
	ret = ferry_dev_map(d);
	if (ret)
		goto out_close;
	return 0;

out_close:
	ferry_dev_close(d);
	return ret;
}

void ferry_dev_close(struct ferry_dev *d)
{
	if (d->map)
		munmap(d->map, d->map_len);
	if (d->fd >= 0)
		close(d->fd);
	d->map = NULL;
	d->fd = -1;
}

int ferry_dev_wait(struct ferry_dev *d, int timeout_ms)
{
	struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
	int ret = poll(&pfd, 1, timeout_ms);

	if (ret < 0)
		return -errno;
	return ret > 0 && (pfd.revents & POLLIN);
}

int ferry_dev_consume(struct ferry_dev *d, uint64_t pos)
{
	struct ferry_consume c = { .pos = pos };

	return ferry_ioctl(d, FERRY_IOC_CONSUME, &c);
}

int ferry_dev_attach(struct ferry_dev *d, dev_t dev, struct ferry_attach *at)
{
	memset(at, 0, sizeof(*at));
	at->major = major(dev);
	at->minor = minor(dev);
	return ferry_ioctl(d, FERRY_IOC_ATTACH, at);
}

int ferry_dev_detach(struct ferry_dev *d, uint32_t disk_id)
{
	struct ferry_detach dt = { .disk_id = disk_id };

	return ferry_ioctl(d, FERRY_IOC_DETACH, &dt);
}

int ferry_dev_stats(struct ferry_dev *d, uint32_t disk_id,
		    struct ferry_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->disk_id = disk_id;
	return ferry_ioctl(d, FERRY_IOC_STATS, st);
}

int ferry_dev_list(struct ferry_dev *d, struct ferry_list_entry *e,
		   unsigned int max)
{
	struct ferry_list l = {
		.count = max,
		.entries = (uintptr_t)e,
	};
	int ret = ferry_ioctl(d, FERRY_IOC_LIST, &l);

	return ret ? ret : (int)l.total;
}

int ferry_dev_fetch_dirty(struct ferry_dev *d, uint32_t disk_id,
			  uint32_t flags, void *bitmap, uint64_t bytes,
			  struct ferry_fetch_dirty *out)
{
	struct ferry_fetch_dirty f = {
		.disk_id = disk_id,
		.flags = flags,
		.bitmap = (uintptr_t)bitmap,
		.bytes = bytes,
	};
	int ret = ferry_ioctl(d, FERRY_IOC_FETCH_DIRTY, &f);

	if (!ret && out)
		*out = f;
	return ret;
}

int ferry_dev_park(struct ferry_dev *d, uint32_t disk_id)
{
	struct ferry_park p = { .disk_id = disk_id };

	return ferry_ioctl(d, FERRY_IOC_PARK, &p);
}

int ferry_dev_clear_resync(struct ferry_dev *d, uint32_t disk_id)
{
	struct ferry_clear_resync c = { .disk_id = disk_id };

	return ferry_ioctl(d, FERRY_IOC_CLEAR_RESYNC, &c);
}

const char *ferry_dev_ioc_strerror(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such disk attached";
	case -EINVAL:
		return "refused: bitmap buffer smaller than the disk's bitmap, or bad flags";
	case -ENOTTY:
	case -EOPNOTSUPP:
		return "this ferry.ko does not support it (too old)";
	case -EFAULT:
		return "bad buffer";
	}
	return strerror(-err);
}
