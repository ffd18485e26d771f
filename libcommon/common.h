/*
 * common.h: the first include of every ofs source file.
 *
 * It pulls in the C and POSIX headers nearly every file needs, the
 * allocation and error helpers, and last of all banned.h, which turns
 * unsafe libc functions into compile errors. Because the system headers
 * are included here first (and are include-guarded), a later #include of
 * one of them is harmless.
 */
#ifndef OFS_COMMON_H
#define OFS_COMMON_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "err.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#include "banned.h"

#endif
