// SPDX-License-Identifier: GPL-2.0
/*
 * Stable disk identity.  udev's /dev/disk/by-id links are used when they
 * exist; without udev (minimal systems, the test guests) the identity comes
 * straight from sysfs: /sys/block/X/serial (virtio), .../device/serial
 * (NVMe, SCSI), .../wwid and .../device/wwid.  A by-id name that has no
 * link is matched the way udev builds it: virtio-SERIAL, nvme-..._SERIAL,
 * scsi-..._SERIAL, wwn-0xWWID, nvme-eui.EUI.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <openssl/sha.h>

#include <ferry/disk.h>

#define BYID "/dev/disk/by-id/"

static int read_attr(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = 0;
	return 0;
}

int disk_name(const char *sysfs, dev_t dev, char *name, size_t len)
{
	char path[PATH_MAX], real[PATH_MAX], *base;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sysfs, major(dev),
		 minor(dev));
	if (!realpath(path, real))
		return -errno;
	base = strrchr(real, '/');
	snprintf(name, len, "%s", base ? base + 1 : real);
	return 0;
}

int disk_whole(const char *sysfs, dev_t dev, dev_t *whole, uint64_t *start)
{
	char path[PATH_MAX + 16], real[PATH_MAX], buf[64], *slash;
	unsigned int ma, mi;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sysfs, major(dev),
		 minor(dev));
	if (!realpath(path, real))
		return -errno;
	snprintf(path, sizeof(path), "%s/partition", real);
	if (access(path, F_OK)) {
		*whole = dev;
		*start = 0;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/start", real);
	if (read_attr(path, buf, sizeof(buf)))
		return -EIO;
	*start = strtoull(buf, NULL, 10) * 512;
	slash = strrchr(real, '/');
	if (!slash)
		return -EIO;
	*slash = 0;
	snprintf(path, sizeof(path), "%s/dev", real);
	if (read_attr(path, buf, sizeof(buf)) ||
	    sscanf(buf, "%u:%u", &ma, &mi) != 2)
		return -EIO;
	*whole = makedev(ma, mi);
	return 0;
}

/* SCSI: the unit serial number VPD page (0x80), after its 4-byte header. */
static int vpd_serial(const char *sysfs, const char *name, char *buf,
		      size_t len)
{
	char path[PATH_MAX], raw[260];
	size_t i, n = 0;
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "%s/block/%s/device/vpd_pg80", sysfs,
		 name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	got = read(fd, raw, sizeof(raw));
	close(fd);
	for (i = 4; got > 4 && i < (size_t)got && n + 1 < len; i++)
		if (raw[i] && raw[i] != ' ')
			buf[n++] = raw[i];
	buf[n] = 0;
	return n ? 0 : -ENOENT;
}

/* serial or wwid of /sys/block/NAME, trying every place. */
static int block_attr(const char *sysfs, const char *name, const char *attr,
		      char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/block/%s/%s", sysfs, name, attr);
	if (!read_attr(path, buf, len) && *buf)
		return 0;
	snprintf(path, sizeof(path), "%s/block/%s/device/%s", sysfs, name,
		 attr);
	if (!read_attr(path, buf, len) && *buf)
		return 0;
	if (!strcmp(attr, "serial"))
		return vpd_serial(sysfs, name, buf, len);
	return -ENOENT;
}

/* udev's replacement of blanks by '_' */
static void underscore(char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || *s == '/')
			*s = '_';
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return b && a >= b && !strcmp(s + a - b, suffix);
}

/* Does /sys/block/NAME answer to how (serial or wwn) = val? */
static int block_matches(const char *sysfs, const char *name,
			 const char *how, const char *val)
{
	char attr[256], want[256];
	const char *w = val;

	if (!strcmp(how, "serial")) {
		if (block_attr(sysfs, name, "serial", attr, sizeof(attr)))
			return 0;
		underscore(attr);
		snprintf(want, sizeof(want), "%s", val);
		underscore(want);
		return !strcmp(attr, want) ||
		       (strlen(want) > strlen(attr) && ends_with(want, attr) &&
			want[strlen(want) - strlen(attr) - 1] == '_');
	}
	if (block_attr(sysfs, name, "wwid", attr, sizeof(attr)))
		return 0;
	if (!strncmp(w, "0x", 2))
		w += 2;
	/* wwid reads "naa.5000c500..." or "eui.0025..." or a t10 string */
	return !strcmp(attr, val) || ends_with(attr, w);
}

/* Find the one whole disk in /sys/block that matches. */
static int scan_block(const char *sysfs, const char *how, const char *val,
		      struct disk_id *d, char *why, size_t len)
{
	char path[PATH_MAX], buf[64];
	struct dirent *de;
	unsigned int ma, mi, found = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/block", sysfs);
	dir = opendir(path);
	if (!dir) {
		snprintf(why, len, "%s:%s: cannot read %s: %s", how, val, path,
			 strerror(errno));
		return -ENODEV;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' ||
		    !block_matches(sysfs, de->d_name, how, val))
			continue;
		snprintf(path, sizeof(path), "%s/block/%s/dev", sysfs,
			 de->d_name);
		if (read_attr(path, buf, sizeof(buf)) ||
		    sscanf(buf, "%u:%u", &ma, &mi) != 2)
			continue;
		if (found++)
			break;
		d->dev = makedev(ma, mi);
		snprintf(d->name, sizeof(d->name), "%.31s", de->d_name);
	}
	closedir(dir);
	if (found == 1)
		return 0;
	snprintf(why, len, found ? "%s %s: more than one disk has it" :
		 "%s %s: no disk has it", how, val);
	return found ? -ENOTUNIQ : -ENODEV;
}

/* A by-id name without its link: derive what to look for. */
static int byid_fallback(const char *sysfs, const char *id, struct disk_id *d,
			 char *why, size_t len)
{
	const char *dash = strchr(id, '-');

	if (!strncmp(id, "wwn-", 4))
		return scan_block(sysfs, "wwn", id + 4, d, why, len);
	if (!strncmp(id, "nvme-eui.", 9))
		return scan_block(sysfs, "wwn", id + 9, d, why, len);
	if (!dash || !dash[1]) {
		snprintf(why, len, "%s%s: no such link and not a name udev makes",
			 BYID, id);
		return -ENODEV;
	}
	/* virtio-SERIAL, nvme-MODEL_SERIAL, scsi-0QEMU_..._SERIAL, ata-... */
	return scan_block(sysfs, "serial", dash + 1, d, why, len);
}

static int check_whole(const char *sysfs, const char *spec, struct disk_id *d,
		       char *why, size_t len)
{
	char parent[32];
	uint64_t start;
	dev_t whole;
	int r;

	r = disk_whole(sysfs, d->dev, &whole, &start);
	if (r) {
		snprintf(why, len, "%s: %u:%u is not in %s/dev/block",
			 spec, major(d->dev), minor(d->dev), sysfs);
		return -ENODEV;
	}
	if (whole != d->dev) {
		if (disk_name(sysfs, whole, parent, sizeof(parent)))
			snprintf(parent, sizeof(parent), "%u:%u",
				 major(whole), minor(whole));
		snprintf(why, len,
			 "%s: device is a partition; protect the whole disk /dev/%s",
			 spec, parent);
		return -EINVAL;
	}
	if (!d->name[0])
		disk_name(sysfs, d->dev, d->name, sizeof(d->name));
	return 0;
}

static void set_ident(const char *sysfs, struct disk_id *d, const char *spec)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char val[200];

	if (!block_attr(sysfs, d->name, "wwid", val, sizeof(val)))
		snprintf(d->ident, sizeof(d->ident), "wwn:%s", val);
	else if (!block_attr(sysfs, d->name, "serial", val, sizeof(val)))
		snprintf(d->ident, sizeof(d->ident), "serial:%s", val);
	else
		snprintf(d->ident, sizeof(d->ident), "path:%s", spec);
	SHA256((const unsigned char *)d->ident, strlen(d->ident), md);
	memcpy(d->uuid, md, sizeof(d->uuid));
	d->uuid[6] = (d->uuid[6] & 0x0f) | 0x50;	/* name-based uuid */
	d->uuid[8] = (d->uuid[8] & 0x3f) | 0x80;
}

int disk_resolve(const char *sysfs, const char *spec, struct disk_id *d,
		 char *why, size_t len)
{
	struct stat st;
	int r;

	memset(d, 0, sizeof(*d));
	if (!strncmp(spec, "serial:", 7))
		r = scan_block(sysfs, "serial", spec + 7, d, why, len);
	else if (!strncmp(spec, "wwn:", 4))
		r = scan_block(sysfs, "wwn", spec + 4, d, why, len);
	else if (!stat(spec, &st)) {
		if (!S_ISBLK(st.st_mode)) {
			snprintf(why, len, "%s: not a block device", spec);
			return -ENOTBLK;
		}
		d->dev = st.st_rdev;
		r = 0;
	} else if (!strncmp(spec, BYID, strlen(BYID)) && errno == ENOENT) {
		r = byid_fallback(sysfs, spec + strlen(BYID), d, why, len);
	} else {
		snprintf(why, len, "%s: %s", spec, strerror(errno));
		return -errno;
	}
	if (r)
		return r;
	r = check_whole(sysfs, spec, d, why, len);
	if (!r)
		set_ident(sysfs, d, spec);
	return r;
}
