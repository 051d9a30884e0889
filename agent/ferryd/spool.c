// SPDX-License-Identifier: GPL-2.0
/*
 * The spool: slots of sealed segments and their crash-safe meta file.
 * See spool.h for the life of a slot and the ordering rules.
 *
 * meta file (little-endian, as the machine: the spool never moves):
 *
 *   0          512        576        640
 *   +----------+----------+----------+-- ... --+
 *   | header   | entry 0  | entry 1  |         |  one entry per slot
 *   +----------+----------+----------+-- ... --+
 *
 *   header: magic "FRYSPOOL" | version u32 | nr_slots u32 | seg_size u64 |
 *           crc32c u32 (over the bytes before it) | zero
 *   entry:  magic u32 | state u32 | id | start_seq | end_seq | bytes |
 *           sealed_ns | oldest_ns (u64 each) | records u32 | crc32c u32
 *
 * Entries are 64 bytes, so one never straddles a 512-byte sector: a torn
 * write leaves each sector old or new, and the crc tells a half-written
 * entry, which then counts as FREE (its segment is still in the ring).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ferry/crc32c.h>
#include <ferry/fs.h>

#include "spool.h"

#define SPOOL_MAGIC		"FRYSPOOL"
#define SPOOL_VERSION		1u
#define SPOOL_HDR_SIZE		512u
#define SPOOL_ENTRY_MAGIC	0x544c5346u	/* "FSLT" */
#define SPOOL_ALIGN		4096u

enum slot_state {
	SLOT_FREE	= 0,
	SLOT_SEALED	= 1,
	SLOT_ACKED	= 2,
	SLOT_RESERVED	= 3,	/* in memory only */
};

struct spool_hdr {
	char magic[8];
	uint32_t version;
	uint32_t nr_slots;
	uint64_t seg_size;
	uint32_t crc;
	uint32_t zero;
};

struct spool_entry {
	uint32_t magic;
	uint32_t state;
	uint64_t id;
	uint64_t start_seq;
	uint64_t end_seq;
	uint64_t bytes;
	uint64_t sealed_ns;
	uint64_t oldest_ns;
	uint32_t records;
	uint32_t crc;
};

_Static_assert(sizeof(struct spool_entry) == 64, "meta entry is 64 bytes");

struct spool_slotinfo {
	enum slot_state state;
	int fd;			/* O_RDWR | O_DIRECT */
	int rfd;		/* O_RDONLY, for the shipper */
	struct spool_entry e;
};

struct spool {
	pthread_mutex_t lock;	/* protects everything below */
	char dir[200];
	uint64_t seg_size;
	uint32_t nr_slots;
	enum spool_ack_mode ack_mode;
	int meta_fd;
	int event_fd;
	uint64_t next_id;
	uint32_t next_slot;	/* round-robin start for spool_reserve */
	struct spool_stat st;	/* counters and ship state */
	struct spool_slotinfo *slots;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

const char *spool_ack_mode_name(enum spool_ack_mode mode)
{
	switch (mode) {
	case SPOOL_ACK_NONE:	return "none";
	case SPOOL_ACK_LOCAL:	return "local";
	case SPOOL_ACK_SERVER:	return "server";
	}
	return "?";
}

int spool_ack_mode_parse(const char *s, enum spool_ack_mode *mode)
{
	if (!strcmp(s, "none"))
		*mode = SPOOL_ACK_NONE;
	else if (!strcmp(s, "local"))
		*mode = SPOOL_ACK_LOCAL;
	else if (!strcmp(s, "server"))
		*mode = SPOOL_ACK_SERVER;
	else
		return -EINVAL;
	return 0;
}

static uint32_t entry_crc(const struct spool_entry *e)
{
	return crc32c(0, e, offsetof(struct spool_entry, crc));
}

static uint32_t hdr_crc(const struct spool_hdr *h)
{
	return crc32c(0, h, offsetof(struct spool_hdr, crc));
}

static void slot_path(const struct spool *sp, uint32_t i, char *buf,
		      size_t len)
{
	snprintf(buf, len, "%s/slot-%04u.hrl", sp->dir, i);
}

static int write_entry(struct spool *sp, uint32_t i)
{
	struct spool_entry *e = &sp->slots[i].e;
	off_t off = SPOOL_HDR_SIZE + (off_t)i * sizeof(*e);

	e->magic = SPOOL_ENTRY_MAGIC;
	e->crc = entry_crc(e);
	if (pwrite(sp->meta_fd, e, sizeof(*e), off) != sizeof(*e))
		return errno ? -errno : -EIO;
	if (fdatasync(sp->meta_fd))
		return -errno;
	return 0;
}

static void notify(struct spool *sp)
{
	uint64_t one = 1;

	if (write(sp->event_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the reader is already due to wake */
	}
}

/* Preallocate and zero-fill: written extents never change again. */
static int prealloc_file(int fd, uint64_t size)
{
	static const char zero[1 << 16];
	uint64_t off;
	ssize_t n;
	int r;

	r = posix_fallocate(fd, 0, size);
	if (r)
		return -r;
	for (off = 0; off < size; off += n) {
		n = pwrite(fd, zero, size - off < sizeof(zero) ?
			   size - off : sizeof(zero), off);
		if (n <= 0)
			return n ? -errno : -EIO;
	}
	return fsync(fd) ? -errno : 0;
}

static int create_meta(struct spool *sp, const char *path)
{
	struct spool_hdr h = { .version = SPOOL_VERSION,
			       .nr_slots = sp->nr_slots,
			       .seg_size = sp->seg_size };
	uint64_t size = SPOOL_HDR_SIZE +
			(uint64_t)sp->nr_slots * sizeof(struct spool_entry);
	char tmp[300];
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size = (size + SPOOL_ALIGN - 1) & ~(uint64_t)(SPOOL_ALIGN - 1);
	r = prealloc_file(fd, size);
	if (r)
		goto out_close;
	memcpy(h.magic, SPOOL_MAGIC, 8);
	h.crc = hdr_crc(&h);
	if (pwrite(fd, &h, sizeof(h), 0) != sizeof(h) || fsync(fd)) {
		r = -errno;
		goto out_close;
	}
	/* the meta file appears only once complete: it marks a made spool */
	if (rename(tmp, path)) {
		r = -errno;
		goto out_close;
	}
	r = fd;
	fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return r;

out_close:
	close(fd);
	unlink(tmp);
	return r;
}

static int check_meta(struct spool *sp, int fd, char *err, size_t errlen)
{
	struct spool_hdr h;

	if (pread(fd, &h, sizeof(h), 0) != sizeof(h) ||
	    memcmp(h.magic, SPOOL_MAGIC, 8) || h.crc != hdr_crc(&h)) {
		snprintf(err, errlen, "spool %s: meta: not a spool header",
			 sp->dir);
		return -EINVAL;
	}
	if (h.version != SPOOL_VERSION) {
		snprintf(err, errlen, "spool %s: meta: version %u, expected %u",
			 sp->dir, h.version, SPOOL_VERSION);
		return -EINVAL;
	}
	if (h.nr_slots != sp->nr_slots || h.seg_size != sp->seg_size) {
		snprintf(err, errlen,
			 "spool %s: made with %u slots of %llu bytes, config asks %u of %llu; move it away or restore the config",
			 sp->dir, h.nr_slots, (unsigned long long)h.seg_size,
			 sp->nr_slots, (unsigned long long)sp->seg_size);
		return -EINVAL;
	}
	return 0;
}

static int load_entries(struct spool *sp)
{
	size_t len = (size_t)sp->nr_slots * sizeof(struct spool_entry);
	struct spool_entry *all = malloc(len);
	uint32_t i;

	if (!all)
		return -ENOMEM;
	if (pread(sp->meta_fd, all, len, SPOOL_HDR_SIZE) != (ssize_t)len) {
		free(all);
		return -EIO;
	}
	for (i = 0; i < sp->nr_slots; i++) {
		struct spool_entry *e = &all[i];
		struct spool_slotinfo *s = &sp->slots[i];

		if (e->magic != SPOOL_ENTRY_MAGIC || e->crc != entry_crc(e) ||
		    e->bytes > sp->seg_size) {
			memset(&s->e, 0, sizeof(s->e));
			s->state = SLOT_FREE;
			continue;
		}
		s->e = *e;
		s->state = e->state == SLOT_SEALED ? SLOT_SEALED : SLOT_FREE;
		if (e->id >= sp->next_id)
			sp->next_id = e->id + 1;
		if (e->end_seq > sp->st.end_seq)
			sp->st.end_seq = e->end_seq;
	}
	free(all);
	return 0;
}

static int open_slot(struct spool *sp, uint32_t i, bool create)
{
	struct spool_slotinfo *s = &sp->slots[i];
	char path[256];
	struct stat stb;
	int r;

	slot_path(sp, i, path, sizeof(path));
	if (create) {
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0600);

		if (fd < 0)
			return -errno;
		r = prealloc_file(fd, sp->seg_size);
		close(fd);
		if (r)
			return r;
	}
	s->fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (s->fd < 0 && errno == EINVAL)	/* tmpfs before 6.6 */
		s->fd = open(path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0)
		return -errno;
	if (fstat(s->fd, &stb))
		return -errno;
	if ((uint64_t)stb.st_size != sp->seg_size)
		return -EUCLEAN;
	s->rfd = open(path, O_RDONLY | O_CLOEXEC);
	return s->rfd < 0 ? -errno : 0;
}

static int open_files(struct spool *sp, char *err, size_t errlen)
{
	char path[256];
	bool create = false;
	uint32_t i;
	int r;

	r = ferry_mkdir_p(sp->dir, 0700);
	if (r) {
		snprintf(err, errlen, "spool %s: mkdir: %s", sp->dir,
			 strerror(-r));
		return r;
	}
	snprintf(path, sizeof(path), "%s/meta", sp->dir);
	sp->meta_fd = open(path, O_RDWR | O_CLOEXEC);
	if (sp->meta_fd < 0 && errno == ENOENT) {
		/* slots first: the meta file's rename marks the spool made */
		for (i = 0; i < sp->nr_slots; i++) {
			r = open_slot(sp, i, true);
			if (r)
				goto out_slot;
		}
		create = true;
		sp->meta_fd = create_meta(sp, path);
	}
	if (sp->meta_fd < 0) {
		snprintf(err, errlen, "spool %s: meta: %s", sp->dir,
			 strerror(-sp->meta_fd < 0 ? errno : -sp->meta_fd));
		return -EIO;
	}
	if (flock(sp->meta_fd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen, "spool %s: in use by another process",
			 sp->dir);
		return -EBUSY;
	}
	r = check_meta(sp, sp->meta_fd, err, errlen);
	if (r)
		return r;
	for (i = 0; !create && i < sp->nr_slots; i++) {
		r = open_slot(sp, i, false);
		if (r)
			goto out_slot;
	}
	return load_entries(sp);

out_slot:
	slot_path(sp, i, path, sizeof(path));
	snprintf(err, errlen, "spool %s: %s", path,
		 r == -EUCLEAN ? "wrong size (not made by this spool)" :
		 strerror(-r));
	return r;
}

int spool_open(const struct spool_conf *conf, struct spool **out,
	       char *err, size_t errlen)
{
	struct spool *sp;
	uint32_t i;
	int r;

	if (!conf->seg_size || conf->seg_size % SPOOL_ALIGN ||
	    conf->size < conf->seg_size || conf->size / conf->seg_size > 65536) {
		snprintf(err, errlen,
			 "spool %s: size %llu / segment size %llu: need a segment size that is a multiple of 4096, at least one and at most 65536 slots",
			 conf->dir, (unsigned long long)conf->size,
			 (unsigned long long)conf->seg_size);
		return -EINVAL;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	pthread_mutex_init(&sp->lock, NULL);
	snprintf(sp->dir, sizeof(sp->dir), "%s", conf->dir);
	sp->seg_size = conf->seg_size;
	sp->nr_slots = conf->size / conf->seg_size;
	sp->ack_mode = conf->ack_mode;
	sp->next_id = 1;
	sp->meta_fd = -1;
	sp->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sp->slots = calloc(sp->nr_slots, sizeof(*sp->slots));
	if (sp->event_fd < 0 || !sp->slots) {
		r = -ENOMEM;
		snprintf(err, errlen, "spool %s: out of memory", conf->dir);
		goto out_close;
	}
	for (i = 0; i < sp->nr_slots; i++)
		sp->slots[i].fd = sp->slots[i].rfd = -1;
	r = open_files(sp, err, errlen);
	if (r)
		goto out_close;
	sp->st.ack_mode = sp->ack_mode;
	sp->st.ship_since_ns = now_ns();
	*out = sp;
	return 0;

out_close:
	spool_close(sp);
	return r;
}

void spool_close(struct spool *sp)
{
	uint32_t i;

	if (!sp)
		return;
	for (i = 0; sp->slots && i < sp->nr_slots; i++) {
		if (sp->slots[i].fd >= 0)
			close(sp->slots[i].fd);
		if (sp->slots[i].rfd >= 0)
			close(sp->slots[i].rfd);
	}
	if (sp->meta_fd >= 0)
		close(sp->meta_fd);
	if (sp->event_fd >= 0)
		close(sp->event_fd);
	free(sp->slots);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

int spool_reserve(struct spool *sp, struct spool_slot *slot)
{
	uint32_t n, i;
	int r = -ENOSPC;

	pthread_mutex_lock(&sp->lock);
	for (n = 0; n < sp->nr_slots; n++) {
		i = (sp->next_slot + n) % sp->nr_slots;
		if (sp->slots[i].state != SLOT_FREE)
			continue;
		sp->slots[i].state = SLOT_RESERVED;
		sp->next_slot = (i + 1) % sp->nr_slots;
		slot->slot = i;
		slot->fd = sp->slots[i].fd;
		slot->capacity = sp->seg_size;
		sp->st.full_since_ns = 0;
		r = 0;
		break;
	}
	if (r && !sp->st.full_since_ns)
		sp->st.full_since_ns = now_ns();
	pthread_mutex_unlock(&sp->lock);
	return r;
}

void spool_unreserve(struct spool *sp, struct spool_slot *slot)
{
	pthread_mutex_lock(&sp->lock);
	if (sp->slots[slot->slot].state == SLOT_RESERVED)
		sp->slots[slot->slot].state = SLOT_FREE;
	pthread_mutex_unlock(&sp->lock);
}

static void seg_from_slot(const struct spool *sp, uint32_t i,
			  struct spool_seg *seg)
{
	const struct spool_entry *e = &sp->slots[i].e;

	seg->id = e->id;
	seg->start_seq = e->start_seq;
	seg->end_seq = e->end_seq;
	seg->bytes = e->bytes;
	seg->sealed_ns = e->sealed_ns;
	seg->oldest_ns = e->oldest_ns;
	seg->records = e->records;
	seg->slot = i;
	seg->fd = sp->slots[i].rfd;
	slot_path(sp, i, seg->path, sizeof(seg->path));
}

int spool_seal(struct spool *sp, const struct spool_slot *slot,
	       struct spool_seg *seg)
{
	struct spool_slotinfo *s;
	int r;

	if (slot->slot >= sp->nr_slots || !seg->bytes ||
	    seg->bytes > sp->seg_size)
		return -EINVAL;
	pthread_mutex_lock(&sp->lock);
	s = &sp->slots[slot->slot];
	if (s->state != SLOT_RESERVED) {
		r = -EINVAL;
		goto out_unlock;
	}
	s->e = (struct spool_entry){
		.state = SLOT_SEALED,
		.id = sp->next_id,
		.start_seq = seg->start_seq,
		.end_seq = seg->end_seq,
		.bytes = seg->bytes,
		.sealed_ns = now_ns(),
		.oldest_ns = seg->oldest_ns,
		.records = seg->records,
	};
	r = write_entry(sp, slot->slot);
	if (r)
		goto out_unlock;
	sp->next_id++;
	s->state = SLOT_SEALED;
	sp->st.sealed_total++;
	sp->st.bytes_sealed += seg->bytes;
	if (seg->end_seq > sp->st.end_seq)
		sp->st.end_seq = seg->end_seq;
	seg_from_slot(sp, slot->slot, seg);
	if (sp->ack_mode == SPOOL_ACK_LOCAL) {
		s->e.state = SLOT_ACKED;
		r = write_entry(sp, slot->slot);
		if (!r) {
			s->state = SLOT_FREE;
			sp->st.acked_total++;
		}
	}
out_unlock:
	pthread_mutex_unlock(&sp->lock);
	if (!r)
		notify(sp);
	return r;
}

int spool_append(struct spool *sp, const void *buf, size_t len,
		 struct spool_seg *seg)
{
	struct spool_slot slot;
	void *abuf;
	size_t alen = (len + SPOOL_ALIGN - 1) & ~(size_t)(SPOOL_ALIGN - 1);
	int r;

	if (!len || len > sp->seg_size)
		return -EINVAL;
	r = spool_reserve(sp, &slot);
	if (r)
		return r;
	if (posix_memalign(&abuf, SPOOL_ALIGN, alen)) {
		r = -ENOMEM;
		goto out_unreserve;
	}
	memcpy(abuf, buf, len);
	memset((char *)abuf + len, 0, alen - len);
	if (pwrite(slot.fd, abuf, alen, 0) != (ssize_t)alen ||
	    fdatasync(slot.fd)) {
		r = errno ? -errno : -EIO;
		goto out_free;
	}
	free(abuf);
	seg->bytes = len;
	return spool_seal(sp, &slot, seg);

out_free:
	free(abuf);
out_unreserve:
	spool_unreserve(sp, &slot);
	return r;
}

int spool_next_unacked(struct spool *sp, uint64_t after, struct spool_seg *seg)
{
	uint64_t best_id = UINT64_MAX;
	uint32_t i, best = 0;

	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < sp->nr_slots; i++) {
		const struct spool_slotinfo *s = &sp->slots[i];

		if (s->state == SLOT_SEALED && s->e.id > after &&
		    s->e.id < best_id) {
			best_id = s->e.id;
			best = i;
		}
	}
	if (best_id != UINT64_MAX)
		seg_from_slot(sp, best, seg);
	pthread_mutex_unlock(&sp->lock);
	return best_id == UINT64_MAX ? -ENOENT : 0;
}

int spool_ack(struct spool *sp, uint64_t id)
{
	uint32_t i;
	int r = -ENOENT;

	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < sp->nr_slots; i++) {
		struct spool_slotinfo *s = &sp->slots[i];

		if (s->state != SLOT_SEALED || s->e.id != id)
			continue;
		s->e.state = SLOT_ACKED;
		r = write_entry(sp, i);
		if (r) {
			s->e.state = SLOT_SEALED;
			break;
		}
		s->state = SLOT_FREE;
		sp->st.acked_total++;
		break;
	}
	pthread_mutex_unlock(&sp->lock);
	if (!r)
		notify(sp);
	return r;
}

int spool_event_fd(struct spool *sp)
{
	return sp->event_fd;
}

void spool_set_ship_state(struct spool *sp, bool ok, const char *msg)
{
	pthread_mutex_lock(&sp->lock);
	if (ok != sp->st.ship_ok)
		sp->st.ship_since_ns = now_ns();
	sp->st.ship_ok = ok;
	snprintf(sp->st.ship_msg, sizeof(sp->st.ship_msg), "%s",
		 msg ? msg : "");
	pthread_mutex_unlock(&sp->lock);
}

void spool_get_stat(struct spool *sp, struct spool_stat *st)
{
	uint32_t i;

	pthread_mutex_lock(&sp->lock);
	*st = sp->st;
	st->nr_slots = sp->nr_slots;
	st->size = (uint64_t)sp->nr_slots * sp->seg_size;
	st->sealed = 0;
	st->used = 0;
	st->oldest_ns = 0;
	for (i = 0; i < sp->nr_slots; i++) {
		const struct spool_slotinfo *s = &sp->slots[i];

		if (s->state != SLOT_SEALED)
			continue;
		st->sealed++;
		st->used += s->e.bytes;
		if (s->e.end_seq > st->end_seq)
			st->end_seq = s->e.end_seq;
		if (!st->oldest_ns || s->e.oldest_ns < st->oldest_ns)
			st->oldest_ns = s->e.oldest_ns;
	}
	st->slot_used = (uint64_t)st->sealed * sp->seg_size;
	pthread_mutex_unlock(&sp->lock);
}

bool spool_half_full(struct spool *sp)
{
	uint32_t i, sealed = 0;

	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < sp->nr_slots; i++)
		sealed += sp->slots[i].state == SLOT_SEALED;
	pthread_mutex_unlock(&sp->lock);
	return sealed * 2 >= sp->nr_slots;
}

int spool_bootstate_open(struct spool *sp, uint64_t size)
{
	char path[256], tmp[300];
	struct stat st;
	int fd, r;

	size = (size + SPOOL_ALIGN - 1) & ~(uint64_t)(SPOOL_ALIGN - 1);
	snprintf(path, sizeof(path), "%s/" SPOOL_BOOTSTATE, sp->dir);
	if (stat(path, &st) || (uint64_t)st.st_size < size) {
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		r = prealloc_file(fd, size);
		close(fd);
		if (!r && rename(tmp, path))
			r = -errno;
		if (r) {
			unlink(tmp);
			return r;
		}
	}
	fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int spool_for_each_file(struct spool *sp,
			int (*fn)(const char *path, int fd, void *arg),
			void *arg)
{
	char path[256];
	uint32_t i;
	int r, fd;

	snprintf(path, sizeof(path), "%s/meta", sp->dir);
	r = fn(path, sp->meta_fd, arg);
	for (i = 0; !r && i < sp->nr_slots; i++) {
		slot_path(sp, i, path, sizeof(path));
		r = fn(path, sp->slots[i].rfd, arg);
	}
	snprintf(path, sizeof(path), "%s/" SPOOL_BOOTSTATE, sp->dir);
	fd = r ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = fn(path, fd, arg);
		close(fd);
	}
	return r;
}
