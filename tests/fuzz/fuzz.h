/*
 * Shared by the libFuzzer targets in tests/fuzz/: the entry point's
 * prototype and the check that turns a broken invariant into a crash
 * libFuzzer records (abort, so it holds under -DNDEBUG too).
 */
#ifndef REFERD_FUZZ_H
#define REFERD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(e) do {						\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #e);				\
		abort();						\
	}								\
} while (0)

/*
 * A NUL-terminated heap copy of the input, exactly size + 1 bytes so
 * that AddressSanitizer sees any read past the terminator.  Aborts if
 * out of memory.  The caller frees it.
 */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char	*s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif /* !REFERD_FUZZ_H */
