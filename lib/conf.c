// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration files: key = value lines against a table of keys.
 * The grammar is in <ferry/conf.h>.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ferry/conf.h>

#define CONF_MAX_LINE	1024

int conf_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	}
	if (shift && (*end == 'i' || *end == 'B'))
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*out = !strcmp(s, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

static int set_number(const struct conf_key *k, const char *val,
		      uint64_t *dst, char *why, size_t len)
{
	uint64_t v;
	char *end;

	if (k->type == CONF_SIZE) {
		if (conf_parse_size(val, &v)) {
			snprintf(why, len, "%s: '%s' is not a size (bytes, or with K, M, G, T)",
				 k->name, val);
			return -EINVAL;
		}
	} else {
		errno = 0;
		v = strtoull(val, &end, 0);
		if (errno || *end || !isdigit((unsigned char)*val)) {
			snprintf(why, len, "%s: '%s' is not an unsigned integer",
				 k->name, val);
			return -EINVAL;
		}
	}
	if (v < k->min || (k->max && v > k->max)) {
		snprintf(why, len, "%s: %s is out of range [%" PRIu64 ", %" PRIu64 "]",
			 k->name, val, k->min, k->max);
		return -ERANGE;
	}
	*dst = v;
	return 0;
}

static int set_enum(const struct conf_key *k, const char *val,
		    unsigned int *dst, char *why, size_t len)
{
	size_t i, n = 0;

	for (i = 0; k->choices[i]; i++) {
		if (!strcmp(k->choices[i], val)) {
			*dst = i;
			return 0;
		}
	}
	n = snprintf(why, len, "%s: '%s' is not one of", k->name, val);
	for (i = 0; k->choices[i] && n < len; i++)
		n += snprintf(why + n, len - n, " %s", k->choices[i]);
	return -EINVAL;
}

static int set_value(const struct conf_key *k, void *obj, const char *val,
		     char *why, size_t len)
{
	char *dst = (char *)obj + k->off;

	switch (k->type) {
	case CONF_STR:
		if (strlen(val) >= k->size) {
			snprintf(why, len, "%s: value longer than %zu bytes",
				 k->name, k->size - 1);
			return -ENAMETOOLONG;
		}
		strcpy(dst, val);
		return 0;
	case CONF_SIZE:
	case CONF_UINT:
		return set_number(k, val, (uint64_t *)dst, why, len);
	case CONF_BOOL:
		if (parse_bool(val, (bool *)dst)) {
			snprintf(why, len, "%s: '%s' is not yes or no",
				 k->name, val);
			return -EINVAL;
		}
		return 0;
	case CONF_ENUM:
		return set_enum(k, val, (unsigned int *)dst, why, len);
	case CONF_CUSTOM:
		return k->parse(val, obj, why, len);
	}
	return -EINVAL;
}

static const struct conf_key *find_key(const struct conf_key *keys,
				       const char *name)
{
	for (; keys->name; keys++)
		if (!strcmp(keys->name, name))
			return keys;
	return NULL;
}

int conf_set(const struct conf_key *keys, void *obj, const char *key,
	     const char *val, char *why, size_t len)
{
	const struct conf_key *k = find_key(keys, key);

	if (!k) {
		snprintf(why, len, "unknown key '%s'", key);
		return -ENOENT;
	}
	return set_value(k, obj, val, why, len);
}

int conf_defaults(const struct conf_key *keys, void *obj, char *err,
		  size_t len)
{
	const struct conf_key *k;
	int r;

	for (k = keys; k->name; k++) {
		if (k->type == CONF_STR)
			((char *)obj + k->off)[0] = 0;
		if (!k->def)
			continue;
		r = set_value(k, obj, k->def, err, len);
		if (r)
			return r;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* One line: 0, 1 for blank or comment, or -errno with why filled. */
static int parse_line(char *line, const struct conf_key *keys, void *obj,
		      unsigned char *seen, char *why, size_t len)
{
	const struct conf_key *k;
	char *eq, *key, *val;
	size_t vlen;

	line = trim(line);
	if (!*line || *line == '#')
		return 1;
	eq = strchr(line, '=');
	if (!eq) {
		snprintf(why, len, "expected 'key = value', got '%.60s'", line);
		return -EINVAL;
	}
	*eq = 0;
	key = trim(line);
	val = trim(eq + 1);
	vlen = strlen(val);
	if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
		val[vlen - 1] = 0;
		val++;
	}
	k = find_key(keys, key);
	if (!k) {
		snprintf(why, len, "unknown key '%.60s'", key);
		return -EINVAL;
	}
	if (seen[k - keys] && !k->multi) {
		snprintf(why, len, "%s: given twice", k->name);
		return -EINVAL;
	}
	seen[k - keys] = 1;
	return set_value(k, obj, val, why, len);
}

int conf_load(const char *path, const struct conf_key *keys, void *obj,
	      char *err, size_t len)
{
	char line[CONF_MAX_LINE + 2], why[256];
	unsigned char *seen;
	unsigned int lineno = 0;
	size_t nkeys = 0;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return r;
	}
	while (keys[nkeys].name)
		nkeys++;
	seen = calloc(nkeys + 1, 1);
	if (!seen) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, len, "%s:%u: line longer than %d bytes",
				 path, lineno, CONF_MAX_LINE);
			r = -EINVAL;
			break;
		}
		r = parse_line(line, keys, obj, seen, why, sizeof(why));
		if (r < 0) {
			snprintf(err, len, "%s:%u: %s", path, lineno, why);
			r = -EINVAL;
			break;
		}
		r = 0;
	}
	if (!r && ferror(f)) {
		snprintf(err, len, "%s: read error", path);
		r = -EIO;
	}
	free(seen);
	fclose(f);
	return r;
}
