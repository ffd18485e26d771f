/*
 * banned.h: libc functions ofs never calls, made compile errors.
 *
 * strcpy/strcat/sprintf overflow silently; strtok keeps hidden state;
 * atoi cannot report errors. Use strbuf (sb_*), snprintf, xstrdup,
 * strtok_r or memchr loops, and the checked parsers in units.h instead.
 * Included last by common.h, after every system header.
 */
#ifndef OFS_BANNED_H
#define OFS_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_ofs

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef atoll
#define atoll(x) BANNED(atoll)
#undef gets
#define gets(x) BANNED(gets)

#endif
