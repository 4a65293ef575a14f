/*
 * libFuzzer target: userid_parse() and request_id_valid(), the two ids a
 * client hands us.  A user id is accepted exactly when strtoull() reads
 * the whole input as a number in 1..INT64_MAX written without a leading
 * zero, sign or space, and prints back to the same bytes.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>

#include "core.h"
#include "fuzz.h"

static int
ref_userid(const char *s, size_t size, int64_t *out)
{
	unsigned long long	 v;
	char			*end, back[32];
	size_t			 i;

	if (size == 0 || size > 19 || s[0] == '0')
		return -1;
	for (i = 0; i < size; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > INT64_MAX)
		return -1;
	snprintf(back, sizeof(back), "%llu", v);
	if (strcmp(back, s) != 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int
ref_request_id(const uint8_t *p, size_t size)
{
	size_t	 i;

	if (size == 0 || size > MAX_REQUEST_ID)
		return 0;
	for (i = 0; i < size; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._-", p[i]) == NULL || p[i] == '\0')
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;
	int64_t	 got = 0, want = 0;
	int	 rc;

	rc = userid_parse((const char *)data, size, &got);
	s = fuzz_cstr(data, size);
	/* An embedded NUL makes the C string shorter than the input. */
	FUZZ_CHECK(rc == (strlen(s) == size ?
	    ref_userid(s, size, &want) : -1));
	if (rc == 0) {
		FUZZ_CHECK(got == want);
		FUZZ_CHECK(got >= 1);
	}
	free(s);
	FUZZ_CHECK(request_id_valid((const char *)data, size) ==
	    ref_request_id(data, size));
	return 0;
}
