/*
 * curlapi.c: load libcurl with dlopen on first use (see curlapi.h).
 */
#include "common.h"
#include <dlfcn.h>

#include "curlapi.h"

static struct curl_api api;
static bool loaded;

static void *need(void *lib, const char *name)
{
	void *f = dlsym(lib, name);
	if (!f)
		die("cannot find '%s' in libcurl: %s", name, dlerror());
	return f;
}

const struct curl_api *curl_api_get(void)
{
	if (loaded)
		return &api;
	void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		lib = dlopen("libcurl.so", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		die("cannot load libcurl: %s", dlerror());
#define LOAD(field, sym) *(void **)&api.field = need(lib, #sym)
	LOAD(global_init, curl_global_init);
	LOAD(free, curl_free);
	LOAD(slist_append, curl_slist_append);
	LOAD(slist_free_all, curl_slist_free_all);
	LOAD(easy_init, curl_easy_init);
	LOAD(easy_cleanup, curl_easy_cleanup);
	LOAD(easy_reset, curl_easy_reset);
	LOAD(easy_setopt, curl_easy_setopt);
	LOAD(easy_getinfo, curl_easy_getinfo);
	LOAD(easy_strerror, curl_easy_strerror);
	LOAD(multi_init, curl_multi_init);
	LOAD(multi_cleanup, curl_multi_cleanup);
	LOAD(multi_setopt, curl_multi_setopt);
	LOAD(multi_add_handle, curl_multi_add_handle);
	LOAD(multi_remove_handle, curl_multi_remove_handle);
	LOAD(multi_perform, curl_multi_perform);
	LOAD(multi_poll, curl_multi_poll);
	LOAD(multi_info_read, curl_multi_info_read);
	LOAD(multi_strerror, curl_multi_strerror);
	LOAD(url, curl_url);
	LOAD(url_cleanup, curl_url_cleanup);
	LOAD(url_set, curl_url_set);
	LOAD(url_get, curl_url_get);
#undef LOAD
	loaded = true;
	return &api;
}
