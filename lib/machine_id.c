// SPDX-License-Identifier: GPL-2.0
/* The machine's identity; see <ferry/machine_id.h>. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include <ferry/fs.h>
#include <ferry/machine_id.h>

int ferry_machine_id_valid(const char *s)
{
	size_t i;

	if (strlen(s) != FERRY_MACHINE_ID_HEX)
		return 0;
	for (i = 0; i < FERRY_MACHINE_ID_HEX; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

void ferry_machine_id_bytes(const char *s, uint8_t out[16])
{
	unsigned int i, v;

	for (i = 0; i < 16; i++) {
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = v;
	}
}

static int read_id(const char *path, char *id)
{
	FILE *f = fopen(path, "re");
	char line[64] = "";

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!ferry_machine_id_valid(line))
		return -EINVAL;
	strcpy(id, line);
	return 0;
}

int ferry_machine_id(const char *state_dir, char id[FERRY_MACHINE_ID_HEX + 1])
{
	char path[PATH_MAX];
	unsigned char raw[16];
	FILE *f;
	int i, r;

	if (!read_id("/etc/machine-id", id))
		return 0;
	snprintf(path, sizeof(path), "%s/machine-id", state_dir);
	if (!read_id(path, id))
		return 0;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	for (i = 0; i < 16; i++)
		sprintf(id + 2 * i, "%02x", raw[i]);
	r = ferry_mkdir_p(state_dir, 0700);
	if (r)
		return r;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	r = fprintf(f, "%s\n", id) < 0 ? -EIO : 0;
	if (fclose(f) && !r)
		r = -errno;
	return r;
}
