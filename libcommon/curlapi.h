/*
 * curlapi.h: libcurl, loaded on first use.
 *
 * libcurl brings some thirty shared libraries with it (TLS, HTTP/2, SSH,
 * LDAP, Kerberos); loading them at start costs every ofs program about
 * 5 ms, which `ofs-trace log` in a shell loop or `ofs-trace exec` around
 * every cron command pays for nothing. So the programs are not linked
 * against libcurl: http.c calls it through this table, which is filled
 * by dlopen the first time it is needed. The function types are taken
 * from curl.h itself, so they cannot drift from the library's.
 */
#ifndef OFS_CURLAPI_H
#define OFS_CURLAPI_H

#include <curl/curl.h>

struct curl_api {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_free) *free;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_reset) *easy_reset;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
	__typeof__(curl_multi_setopt) *multi_setopt;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_perform) *multi_perform;
	__typeof__(curl_multi_poll) *multi_poll;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_strerror) *multi_strerror;
	__typeof__(curl_url) *url;
	__typeof__(curl_url_cleanup) *url_cleanup;
	__typeof__(curl_url_set) *url_set;
	__typeof__(curl_url_get) *url_get;
};

/*
 * curl_api_get: the loaded table (loading libcurl.so.4 on the first call).
 * If the library or one of its functions cannot be found, the program
 * dies with status 4 naming what is missing: HTTP is then impossible.
 */
const struct curl_api *curl_api_get(void);

#endif
