/*
 * test_topology.c: unit tests for topology.c: a table of invalid
 * topologies and the exact error lines each must produce (every class of
 * mistake, all reported at once, with JSON pointers), successful loads
 * with every resolved field checked (http, tcp, exec, heartbeat, layered
 * checks, hooks, recovery, defaults, the example shop), targets added from
 * records, and loading from files and standard input (temp files under
 * mkdtemp, removed).
 *
 * Topology texts are written with ' for " to stay readable; the test
 * swaps them before parsing.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>

#include "config.h"
#include "strbuf.h"
#include "tap.h"
#include "topology.h"

/* text with every ' turned into ", allocated. */
static char *tq(const char *text)
{
	char *s = xstrdup(text);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

/* Parse text (after tq) as "t.json"; -2 for a syntax error. */
static int parse_text(const char *text, struct topology *t, struct strbuf *err)
{
	char *json = tq(text);
	struct cfg c;
	int r = -2;
	if (cfg_parse_string("t.json", json, strlen(json), &c, err) == 0)
		r = topo_parse("t.json", c.root, t, err);
	cfg_free(&c);
	free(json);
	return r;
}

/* Offer text (after tq) as a target; err is reset first. */
static int add_text(struct topology *t, const char *text, struct strbuf *err)
{
	char *json = tq(text);
	cJSON *rec = cJSON_Parse(json);
	free(json);
	sb_reset(err);
	int r = topo_add_target(t, rec, err);
	cJSON_Delete(rec);
	return r;
}

/* argv as "a|b|c" (or "(null)") for comparison. */
static char *joined(char *const *argv)
{
	if (!argv)
		return xstrdup("(null)");
	struct strbuf sb = SB_INIT;
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			sb_addch(&sb, '|');
		sb_addstr(&sb, argv[i]);
	}
	return sb_detach(&sb, NULL);
}

static void is_list(char *const *argv, const char *want, const char *name)
{
	char *j = joined(argv);
	is_str(j, want, name);
	free(j);
}

/* ---- invalid topologies ----------------------------------------------- */

#define INST "{'id':'a1','host':'h','port':80}"
#define INST2 "{'id':'a2','host':'h','port':81}"

static const struct {
	const char *name, *text, *want;
} bad_cases[] = {
	/* the document */
	{ "not an object", "[]", "t.json: the top level must be an object, got array\n" },
	{ "a string document", "'x'", "t.json: the top level must be an object, got string 'x'\n" },
	{ "missing services", "{'name':'shop'}", "t.json: missing required key 'services'\n" },
	{ "services not an object", "{'services':[]}",
	  "t.json: /services: must be an object, got array\n" },
	{ "no services", "{'services':{}}", "t.json: /services: must name at least one service\n" },
	{ "name not a string", "{'name':5,'services':{'a':{}}}",
	  "t.json: /name: must be a string, got number 5\n" },
	/* unknown keys, at every level */
	{ "unknown top-level key", "{'nme':'x','services':{'a':{}}}",
	  "t.json: /nme: unknown key 'nme'; did you mean 'name'?\n" },
	{ "misspelt services", "{'servics':{'a':{}}}",
	  "t.json: /servics: unknown key 'servics'; did you mean 'services'?\n"
	  "t.json: missing required key 'services'\n" },
	{ "unknown service key", "{'services':{'a':{'dependson':[]}}}",
	  "t.json: /services/a/dependson: unknown key 'dependson'; did you mean 'depends_on'?\n" },
	{ "unknown instance key", "{'services':{'a':{'instances':[{'id':'a1','hots':'h','port':80}]}}}",
	  "t.json: /services/a/instances/0/hots: unknown key 'hots'; did you mean 'host'?\n"
	  "t.json: /services/a/instances/0: missing required key 'host' for an http check without "
	  "\"url\"\n" },
	{ "unknown check key", "{'services':{'a':{'instances':[" INST "],'check':{'pth':'/x'}}}}",
	  "t.json: /services/a/check/pth: unknown key 'pth'; did you mean 'path'?\n" },
	{ "unknown key in an instance's check",
	  "{'services':{'a':{'instances':[{'id':'a1','host':'h','port':80,'check':{'timout':'1s'}}]}}}",
	  "t.json: /services/a/instances/0/check/timout: unknown key 'timout'; did you mean "
	  "'timeout'?\n" },
	{ "a key of another kind",
	  "{'services':{'a':{'instances':[" INST "],'check':{'kind':'tcp','path':'/x','command':'x'}}}}",
	  "t.json: /services/a/check/path: 'path' applies to http checks, not tcp\n"
	  "t.json: /services/a/check/command: 'command' applies to exec checks, not tcp\n" },
	{ "unknown recovery key", "{'services':{'a':{'recovery':{'backof':'1s'}}}}",
	  "t.json: /services/a/recovery/backof: unknown key 'backof'; did you mean 'backoff'?\n" },
	{ "unknown json condition key",
	  "{'services':{'a':{'check':{'json':{'pointr':'/x','equals':1}}}}}",
	  "t.json: /services/a/check/json/pointr: unknown key 'pointr'; did you mean 'pointer'?\n"
	  "t.json: /services/a/check/json: missing required key 'pointer'\n" },
	{ "unknown key with a control character", "{'services':{'a':{'x\\ny':1}}}",
	  "t.json: /services/a/x\\ny: unknown key 'x\\ny'\n" },
	{ "duplicate keys", "{'services':{'a':{'rise':2,'rise':3}}}",
	  "t.json: /services/a/rise: duplicate key 'rise'\n" },
	/* services */
	{ "service not an object", "{'services':{'a':[]}}",
	  "t.json: /services/a: must be an object, got array\n" },
	{ "duplicate service", "{'services':{'a':{},'a':{}}}",
	  "t.json: /services/a: duplicate service 'a'\n" },
	{ "empty service name", "{'services':{'':{}}}",
	  "t.json: /services/: a service name must not be empty\n" },
	{ "instances not an array", "{'services':{'a':{'instances':{}}}}",
	  "t.json: /services/a/instances: must be an array, got object\n" },
	{ "instance not an object", "{'services':{'a':{'instances':['a1']}}}",
	  "t.json: /services/a/instances/0: must be an object, got string 'a1'\n" },
	/* check kinds */
	{ "unknown check kind", "{'services':{'a':{'instances':[" INST "],'check':{'kind':'htp'}}}}",
	  "t.json: /services/a/check/kind: must be one of 'http', 'tcp', 'exec', 'heartbeat', got "
	  "'htp'; did you mean 'http'?\n" },
	{ "unknown kind in an instance's check",
	  "{'services':{'a':{'instances':[{'id':'a1','host':'h','port':80,'check':{'kind':'icmp'}}]}}}",
	  "t.json: /services/a/instances/0/check/kind: must be one of 'http', 'tcp', 'exec', "
	  "'heartbeat', got 'icmp'\n" },
	{ "kind not a string", "{'services':{'a':{'check':{'kind':1}}}}",
	  "t.json: /services/a/check/kind: must be a string, got number 1\n" },
	{ "check not an object", "{'services':{'a':{'check':'http'}}}",
	  "t.json: /services/a/check: must be an object, got string 'http'\n" },
	/* instance ids */
	{ "duplicate id in a service", "{'services':{'a':{'instances':[" INST ",{'id':'a1','host':'h','port':81}]}}}",
	  "t.json: /services/a/instances/1/id: duplicate instance id 'a1', also at "
	  "/services/a/instances/0\n" },
	{ "duplicate id across services",
	  "{'services':{'a':{'instances':[" INST "]},'b':{'instances':[" INST2 "," INST "]}}}",
	  "t.json: /services/b/instances/1/id: duplicate instance id 'a1', also at "
	  "/services/a/instances/0\n" },
	{ "duplicate derived ids", "{'services':{'a':{'instances':[{'url':'http://h/'},{'url':'http://h/'}]}}}",
	  "t.json: /services/a/instances/1: duplicate instance id 'http://h/', also at "
	  "/services/a/instances/0\n" },
	{ "no id and nothing to derive it from",
	  "{'services':{'a':{'instances':[{'check':{'kind':'exec','command':['true']}}]}}}",
	  "t.json: /services/a/instances/0: missing required key 'id' (or \"url\", or \"host\" and "
	  "\"port\", to derive it from)\n" },
	{ "empty id", "{'services':{'a':{'instances':[{'id':'','host':'h','port':80}]}}}",
	  "t.json: /services/a/instances/0/id: must not be empty\n" },
	/* addresses */
	{ "http without url or host and port", "{'services':{'a':{'instances':[{'id':'a1'}]}}}",
	  "t.json: /services/a/instances/0: an http check needs \"url\", or \"host\" and \"port\"\n" },
	{ "http without port", "{'services':{'a':{'instances':[{'id':'a1','host':'h'}]}}}",
	  "t.json: /services/a/instances/0: missing required key 'port' for an http check without "
	  "\"url\"\n" },
	{ "tcp without host and port",
	  "{'services':{'a':{'instances':[{'id':'a1'}],'check':{'kind':'tcp'}}}}",
	  "t.json: /services/a/instances/0: missing required key 'host' for a tcp check\n"
	  "t.json: /services/a/instances/0: missing required key 'port' for a tcp check\n" },
	{ "bad hosts", "{'services':{'a':{'instances':[{'id':'a1','host':'a b','port':80},"
		       "{'id':'a2','host':'[::1]','port':80},{'id':'a3','host':7,'port':80}]}}}",
	  "t.json: /services/a/instances/0/host: must be a host name or address, got 'a b'\n"
	  "t.json: /services/a/instances/1/host: must be a host name or address, got '[::1]'\n"
	  "t.json: /services/a/instances/2/host: must be a string, got number 7\n" },
	{ "ports out of range",
	  "{'services':{'a':{'instances':[{'id':'a1','host':'h','port':0},{'id':'a2','host':'h','port':"
	  "70000},{'id':'a3','host':'h','port':'80'},{'id':'a4','host':'h','port':80.5}]}}}",
	  "t.json: /services/a/instances/0/port: must be 1..65535, got 0\n"
	  "t.json: /services/a/instances/1/port: must be 1..65535, got 70000\n"
	  "t.json: /services/a/instances/2/port: must be an integer, got string '80'\n"
	  "t.json: /services/a/instances/3/port: must be an integer, got number 80.5\n" },
	{ "bad URLs",
	  "{'services':{'a':{'instances':[{'id':'a1','url':'ftp://h/'},{'id':'a2','url':'http:///x'},"
	  "{'id':'a3','url':'http://h:99999/'},{'id':'a4','url':'http://a b/'},"
	  "{'id':'a5','url':'http://[::1/'},{'id':'a6','url':'http://h:/x'},"
	  "{'id':'a7','url':'localhost:8080'},{'id':'a8','url':'https://u@/'}]}}}",
	  "t.json: /services/a/instances/0/url: must be an http:// or https:// URL, got 'ftp://h/'\n"
	  "t.json: /services/a/instances/1/url: URL 'http:///x' has no host\n"
	  "t.json: /services/a/instances/2/url: URL 'http://h:99999/' has an invalid port (must be "
	  "1..65535)\n"
	  "t.json: /services/a/instances/3/url: must not contain spaces or control characters, got "
	  "'http://a b/'\n"
	  "t.json: /services/a/instances/4/url: URL 'http://[::1/' has an invalid host\n"
	  "t.json: /services/a/instances/5/url: URL 'http://h:/x' has an invalid port (must be "
	  "1..65535)\n"
	  "t.json: /services/a/instances/6/url: must be an http:// or https:// URL, got "
	  "'localhost:8080'\n"
	  "t.json: /services/a/instances/7/url: URL 'https://u@/' has no host\n" },
	/* dependencies */
	{ "unknown dependency",
	  "{'services':{'a':{'depends_on':['ordrs']},'orders':{}}}",
	  "t.json: /services/a/depends_on/0: unknown service 'ordrs'; did you mean 'orders'?\n" },
	{ "unknown dependency without a near name", "{'services':{'a':{'depends_on':['zzz']}}}",
	  "t.json: /services/a/depends_on/0: unknown service 'zzz'\n" },
	{ "a dependency on itself", "{'services':{'a':{'depends_on':['a']}}}",
	  "t.json: /services/a/depends_on: dependency cycle: a -> a\n" },
	{ "a three-service cycle",
	  "{'services':{'x':{},'b':{'depends_on':['c']},'c':{'depends_on':['a']},'a':{'depends_on':['b',"
	  "'x']}}}",
	  "t.json: /services/b/depends_on: dependency cycle: b -> c -> a -> b\n" },
	{ "a dependency listed twice", "{'services':{'a':{'depends_on':['b','b']},'b':{}}}",
	  "t.json: /services/a/depends_on/1: 'b' is listed twice\n" },
	{ "depends_on not an array of strings",
	  "{'services':{'a':{'depends_on':'b'},'b':{'depends_on':['a',3]}}}",
	  "t.json: /services/a/depends_on: must be an array, got string 'b'\n"
	  "t.json: /services/b/depends_on/1: must be a string, got number 3\n" },
	/* thresholds */
	{ "quorum above the instances", "{'services':{'a':{'instances':[" INST "," INST2 "],'quorum':3}}}",
	  "t.json: /services/a/quorum: must be at most 2 (the number of instances), got 3\n" },
	{ "quorum below 1", "{'services':{'a':{'instances':[" INST "],'quorum':0}}}",
	  "t.json: /services/a/quorum: must be at least 1, got 0\n" },
	{ "rise and fall below 1", "{'services':{'a':{'rise':0,'fall':-1}}}",
	  "t.json: /services/a/rise: must be 1..1000, got 0\n"
	  "t.json: /services/a/fall: must be 1..1000, got -1\n" },
	{ "retries out of range", "{'services':{'a':{'check':{'retries':-1}}}}",
	  "t.json: /services/a/check/retries: must be 0..100, got -1\n" },
	/* durations */
	{ "bad durations",
	  "{'services':{'a':{'instances':[{'id':'a1','host':'h','port':80,'check':{'timeout':'5x'}},"
	  "{'id':'a2','host':'h','port':80,'check':{'timeout':-1}},"
	  "{'id':'a3','host':'h','port':80,'check':{'timeout':'250us'}},"
	  "{'id':'a4','host':'h','port':80,'check':{'timeout':true}},"
	  "{'id':'a5','host':'h','port':80,'check':{'warn':'2s','crit':1}}]}}}",
	  "t.json: /services/a/instances/0/check/timeout: invalid duration '5x': unknown unit 'x'\n"
	  "t.json: /services/a/instances/1/check/timeout: must not be negative, got -1\n"
	  "t.json: /services/a/instances/2/check/timeout: must be at least 1ms, got 250us\n"
	  "t.json: /services/a/instances/3/check/timeout: must be a duration (like \"250ms\") or a "
	  "number of seconds, got true\n"
	  "t.json: /services/a/instances/4/check/warn: must not be above crit (1s), got 2s\n" },
	{ "bad recovery settings",
	  "{'services':{'a':{'recovery':{'timeout':0,'backoff':'10s','backoff_max':'5s','budget':0,"
	  "'window':'0s','grace':'1h1h','reset':'soon'}}}}",
	  "t.json: /services/a/recovery/timeout: must be at least 1ms, got 0s\n"
	  "t.json: /services/a/recovery/backoff_max: must not be below backoff (10s), got 5s\n"
	  "t.json: /services/a/recovery/budget: must be 1..1000, got 0\n"
	  "t.json: /services/a/recovery/window: must be at least 1ms, got 0s\n"
	  "t.json: /services/a/recovery/grace: invalid duration '1h1h': unit 'h' after 'h': use each "
	  "unit once, largest first\n"
	  "t.json: /services/a/recovery/reset: invalid duration 'soon': expected a number\n" },
	{ "recovery not an object", "{'services':{'a':{'recovery':[]}}}",
	  "t.json: /services/a/recovery: must be an object, got array\n" },
	/* http details */
	{ "bad status entries",
	  "{'services':{'a':{'check':{'status':['20x',600,'299-200','200-600',true,200.5,'2xx',404,"
	  "'204','1-2-3']}}}}",
	  "t.json: /services/a/check/status/0: must be a status (200), a range (\"200-299\") or a "
	  "class (\"2xx\"), got string '20x'\n"
	  "t.json: /services/a/check/status/1: must be 100..599, got 600\n"
	  "t.json: /services/a/check/status/2: must run from low to high, got '299-200'\n"
	  "t.json: /services/a/check/status/3: must be within 100..599, got '200-600'\n"
	  "t.json: /services/a/check/status/4: must be a status (200), a range (\"200-299\") or a "
	  "class (\"2xx\"), got true\n"
	  "t.json: /services/a/check/status/5: must be an integer, got number 200.5\n"
	  "t.json: /services/a/check/status/9: must be a status (200), a range (\"200-299\") or a "
	  "class (\"2xx\"), got string '1-2-3'\n" },
	{ "empty and scalar status", "{'services':{'a':{'check':{'status':[]}},'b':{'check':{'status':200}}}}",
	  "t.json: /services/a/check/status: must list at least one status\n"
	  "t.json: /services/b/check/status: must be an array, got number 200\n" },
	{ "bad json conditions",
	  "{'services':{'a':{'instances':["
	  "{'id':'a0','host':'h','port':80,'check':{'json':{'pointer':'/s'}}},"
	  "{'id':'a1','host':'h','port':80,'check':{'json':{'pointer':'/s','equals':1,'lt':2}}},"
	  "{'id':'a2','host':'h','port':80,'check':{'json':{'pointer':'/s','lt':'5'}}},"
	  "{'id':'a3','host':'h','port':80,'check':{'json':{'pointer':'/s','equals':{}}}},"
	  "{'id':'a4','host':'h','port':80,'check':{'json':{'pointer':'/s','exists':false}}},"
	  "{'id':'a5','host':'h','port':80,'check':{'json':{'pointer':'s','equals':1}}},"
	  "{'id':'a6','host':'h','port':80,'check':{'json':{'pointer':'/~2','ge':1}}},"
	  "{'id':'a7','host':'h','port':80,'check':{'json':'x'}}]}}}",
	  "t.json: /services/a/instances/0/check/json: needs a condition: one of 'equals', "
	  "'not_equals', 'lt', 'le', 'gt', 'ge' or 'exists'\n"
	  "t.json: /services/a/instances/1/check/json: has both 'equals' and 'lt': give one "
	  "condition\n"
	  "t.json: /services/a/instances/2/check/json/lt: must be a number, got string '5'\n"
	  "t.json: /services/a/instances/3/check/json/equals: must be a string, number, true, false "
	  "or null, got object\n"
	  "t.json: /services/a/instances/4/check/json/exists: must be true (the field must be "
	  "present), got false\n"
	  "t.json: /services/a/instances/5/check/json/pointer: must be a JSON pointer like "
	  "\"/status\" (~ only as ~0 or ~1), got 's'\n"
	  "t.json: /services/a/instances/6/check/json/pointer: must be a JSON pointer like "
	  "\"/status\" (~ only as ~0 or ~1), got '/~2'\n"
	  "t.json: /services/a/instances/7/check/json: must be an object, got string 'x'\n" },
	{ "bad http settings",
	  "{'services':{'a':{'check':{'method':'get','path':'health','scheme':'ftp','body_contains':'',"
	  "'tls_insecure':'yes','body':1,'headers':{'Bad Name':'x','X-Ok':1,'X-CR':'a\\r\\nb'}}}}}",
	  "t.json: /services/a/check/path: must start with '/', got 'health'\n"
	  "t.json: /services/a/check/scheme: must be one of 'http', 'https', got 'ftp'\n"
	  "t.json: /services/a/check/method: must be an HTTP method in capitals, like GET or HEAD, "
	  "got 'get'\n"
	  "t.json: /services/a/check/headers/Bad Name: invalid header name 'Bad Name'\n"
	  "t.json: /services/a/check/headers/X-Ok: must be a string, got number 1\n"
	  "t.json: /services/a/check/headers/X-CR: must not contain a line break\n"
	  "t.json: /services/a/check/body: must be a string, got number 1\n"
	  "t.json: /services/a/check/body_contains: must not be empty\n"
	  "t.json: /services/a/check/tls_insecure: must be true or false, got string 'yes'\n" },
	{ "a path with a space", "{'services':{'a':{'check':{'path':'/a b'}}}}",
	  "t.json: /services/a/check/path: must not contain spaces or control characters, got "
	  "'/a b'\n" },
	/* exec */
	{ "exec without command", "{'services':{'a':{'instances':[" INST "],'check':{'kind':'exec'}}}}",
	  "t.json: /services/a/check: missing required key 'command' for an exec check\n" },
	{ "bad exec commands",
	  "{'services':{'a':{'instances':["
	  "{'id':'a0','check':{'kind':'exec','command':[]}},"
	  "{'id':'a1','check':{'kind':'exec','command':['']}},"
	  "{'id':'a2','check':{'kind':'exec','command':5}},"
	  "{'id':'a3','check':{'kind':'exec','command':['x',1]}},"
	  "{'id':'a4','check':{'kind':'exec','command':''}},"
	  "{'id':'a5','check':{'kind':'exec','command':'true','env':{'A-B':'x','OK':1,'GOOD':'y'}}}"
	  "]}}}",
	  "t.json: /services/a/instances/0/check/command: must not be empty\n"
	  "t.json: /services/a/instances/1/check/command/0: the program name must not be empty\n"
	  "t.json: /services/a/instances/2/check/command: must be an argv array of strings or a shell "
	  "command string, got number 5\n"
	  "t.json: /services/a/instances/3/check/command/1: must be a string, got number 1\n"
	  "t.json: /services/a/instances/4/check/command: must not be empty\n"
	  "t.json: /services/a/instances/5/check/env/A-B: invalid environment variable name 'A-B'\n"
	  "t.json: /services/a/instances/5/check/env/OK: must be a string, got number 1\n" },
	/* heartbeat */
	{ "heartbeat without file and ttl",
	  "{'services':{'a':{'instances':[{'id':'a1'}],'check':{'kind':'heartbeat'}}}}",
	  "t.json: /services/a/check: missing required key 'file' for a heartbeat check\n"
	  "t.json: /services/a/check: missing required key 'ttl' for a heartbeat check\n" },
	{ "bad heartbeat settings",
	  "{'services':{'a':{'check':{'kind':'heartbeat','file':'','ttl':'0s','format':'json'}}}}",
	  "t.json: /services/a/check/file: must not be empty\n"
	  "t.json: /services/a/check/ttl: must be at least 1ms, got 0s\n"
	  "t.json: /services/a/check/format: must be one of 'mtime', 'jsonl', got 'json'; did you "
	  "mean 'jsonl'?\n" },
	{ "a regex too large once expanded",
	  "{'services':{'a':{'check':{'body_regex':'x(((a{100}){100}){10,})'},'instances':[" INST "]}}}",
	  "t.json: /services/a/check/body_regex: regular expression too large: its repetition "
	  "counts multiply beyond 100000\n" },
	{ "a regex whose pluses double it (glibc copies X+ as XX*)",
	  "{'services':{'a':{'check':{'body_regex':'a++++++++++++++++++++++++++++++'},'instances':["
	  INST "]}}}",
	  "t.json: /services/a/check/body_regex: regular expression too large: its repetition "
	  "counts multiply beyond 100000\n" },
	{ "a regex nested too deep",
	  "{'services':{'a':{'check':{'kind':'tcp','expect':'"
	  "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a)))))))))))))))))))))))"
	  ")))))))))))))))))))))))))))))))))))))))))'}}}}",
	  "t.json: /services/a/check/expect: regular expression too large: its repetition counts "
	  "multiply beyond 100000\n" },
	/* hooks */
	{ "bad hooks",
	  "{'services':{'a':{'start':5,'stop':[],'restart':['x',1]},'b':{'restart':'','start':[''],"
	  "'stop':{}}}}",
	  "t.json: /services/a/start: must be an argv array of strings or a shell command string, "
	  "got number 5\n"
	  "t.json: /services/a/stop: must not be empty\n"
	  "t.json: /services/a/restart/1: must be a string, got number 1\n"
	  "t.json: /services/b/start/0: the program name must not be empty\n"
	  "t.json: /services/b/stop: must be an argv array of strings or a shell command string, "
	  "got object\n"
	  "t.json: /services/b/restart: must not be empty\n" },
	/* reporting */
	{ "a service check's mistake is reported once, not per instance",
	  "{'services':{'a':{'instances':[" INST "," INST2 ",{'id':'a3','host':'h','port':82}],"
	  "'check':{'timeout':'1x'}}}}",
	  "t.json: /services/a/check/timeout: invalid duration '1x': unknown unit 'x'\n" },
	{ "everything at once",
	  "{'name':'shop','services':{"
	  "'web':{'depends_on':['api','db'],'quorum':5,'instances':[{'id':'w1','url':'gopher://x'}],"
	  "'check':{'kind':'http','timeout':'fast'}},"
	  "'api':{'depends_on':['web'],'instances':[{'id':'w1','host':'h','port':99999}],"
	  "'check':{'kind':'grpc'},'restart':7},"
	  "'db':{'instances':[{'id':'d1','host':'h','port':5432}],'check':{'kind':'tcp','expect':"
	  "'+OK'},'rise':0}}}",
	  "t.json: /services/web/check/timeout: invalid duration 'fast': expected a number\n"
	  "t.json: /services/web/instances/0/url: must be an http:// or https:// URL, got "
	  "'gopher://x'\n"
	  "t.json: /services/web/quorum: must be at most 1 (the number of instances), got 5\n"
	  "t.json: /services/api/check/kind: must be one of 'http', 'tcp', 'exec', 'heartbeat', got "
	  "'grpc'\n"
	  "t.json: /services/api/instances/0/port: must be 1..65535, got 99999\n"
	  "t.json: /services/api/instances/0/id: duplicate instance id 'w1', also at "
	  "/services/web/instances/0\n"
	  "t.json: /services/api/restart: must be an argv array of strings or a shell command "
	  "string, got number 7\n"
	  "t.json: /services/db/rise: must be 1..1000, got 0\n"
	  "DB-REGEX"
	  "t.json: /services/web/depends_on: dependency cycle: web -> api -> web\n" },
};

/* The regex message comes from check_spec_compile: only its pointer
 * prefix and that it is one line are fixed here. */
static void test_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		struct topology t;
		struct strbuf err = SB_INIT;
		int r = parse_text(bad_cases[i].text, &t, &err);
		ok(r == -1 && t.nservices == 0 && t.services == NULL, "%s: rejected, nothing kept",
		   bad_cases[i].name);
		const char *want = bad_cases[i].want;
		const char *mark = strstr(want, "DB-REGEX");
		if (mark) {
			const char *prefix = "t.json: /services/db/check/expect: ";
			const char *at = strstr(err.buf, prefix);
			size_t head = (size_t)(mark - want);
			ok(at && (size_t)(at - err.buf) == head && !strncmp(err.buf, want, head),
			   "%s: the lines before the regex", bad_cases[i].name);
			const char *nl = at ? strchr(at, '\n') : NULL;
			is_str(nl ? nl + 1 : "", mark + strlen("DB-REGEX"), bad_cases[i].name);
		} else {
			is_str(err.buf, want, bad_cases[i].name);
		}
		sb_release(&err);
		topo_free(&t);
	}
}

static void test_bad_regex(void)
{
	static const struct {
		const char *text, *prefix;
	} cases[] = {
		{ "{'services':{'a':{'check':{'body_regex':'('}}}}",
		  "t.json: /services/a/check/body_regex: " },
		{ "{'services':{'a':{'instances':[{'id':'a1','host':'h','port':1,'check':{'expect':'[x'}}],"
		  "'check':{'kind':'tcp'}}}}",
		  "t.json: /services/a/instances/0/check/expect: " },
	};
	/* Big but bounded repetitions are fine. */
	struct topology bt;
	struct strbuf berr = SB_INIT;
	const char *big = "{'services':{'a':{'check':{'body_regex':'[[:alpha:]]{3}[]{]\\\\{(x{10,}|y){1000}'},"
			  "'instances':[" INST "]}}}";
	if (is_int(parse_text(big, &bt, &berr), 0, "11,000 copies of an atom are allowed"))
		ok(bt.services[0].instances[0].check.body_re_ready, "and compiled");
	else
		diag("%s", berr.buf);
	topo_free(&bt);
	sb_release(&berr);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct topology t;
		struct strbuf err = SB_INIT;
		is_int(parse_text(cases[i].text, &t, &err), -1, "a bad regex is rejected");
		size_t n = strlen(cases[i].prefix);
		ok(!strncmp(err.buf, cases[i].prefix, n) && err.len > n + 1,
		   "with its pointer: %.*s", (int)(err.len ? err.len - 1 : 0), err.buf);
		ok(strchr(err.buf, '\n') == err.buf + err.len - 1, "on one line");
		sb_release(&err);
	}
}

/* ---- successful loads ------------------------------------------------- */

static const char full_text[] =
	"{'name':'demo','services':{"
	"'db':{'instances':[{'id':'db-1','host':'10.0.0.5','port':5432}],"
	"  'check':{'kind':'tcp','send':'PING\\r\\n','expect':'^\\\\+PONG','timeout':0.5}},"
	"'api':{'depends_on':['db'],'quorum':1,'rise':4,'fall':5,"
	"  'instances':["
	"    {'id':'api-1','host':'127.0.0.1','port':8080},"
	"    {'id':'api-2','url':'https://user@api.example:8443/ready?x=1',"
	"     'check':{'path':'/other','timeout':'3s','status':[204]}},"
	"    {'id':'api-3','host':'::1','port':8081,'check':{'kind':'tcp'}}],"
	"  'check':{'kind':'http','scheme':'https','path':'/healthz','method':'POST',"
	"    'headers':{'Accept':'application/json','X-Token':'a b'},'body':'{}',"
	"    'status':[200,'201-204','3xx'],'body_contains':'ok','body_regex':'^\\\\{',"
	"    'json':{'pointer':'/status','equals':'up'},'tls_insecure':true,"
	"    'timeout':'1500ms','warn':'250ms','crit':2,'retries':2},"
	"  'start':['svc','start','{instance}'],'stop':'kill $(cat {instance}.pid)',"
	"  'restart':['svc','restart','{service}','{port}'],"
	"  'recovery':{'timeout':'10s','backoff':'500ms','backoff_max':'30s','budget':3,"
	"    'window':'5m','grace':0,'reset':'2m'}},"
	"'cron':{'instances':[{'id':'nightly'}],"
	"  'check':{'kind':'heartbeat','file':'/var/run/{service}-{instance}.beat','ttl':'1d',"
	"    'format':'jsonl'},"
	"  'recovery':{'backoff':'2m'}},"
	"'disk':{'depends_on':['db','cron'],'instances':["
	"    {'id':'disk-1','host':'db.local','port':22,'check':{'command':['check_disk','-H',"
	"      '{host}:{port}','{{service}','id={instance} of {service}']}},"
	"    {'id':'disk-2','check':{'command':'check_disk -w 10%','env':{'LANG':'C'},"
	"      'timeout':'9s'}}],"
	"  'check':{'kind':'exec','command':['unused'],'timeout':'4s'}}"
	"}}";

static void test_full(void)
{
	struct topology t;
	struct strbuf err = SB_INIT;
	int r = parse_text(full_text, &t, &err);
	if (!is_int(r, 0, "the full example loads")) {
		diag("%s", err.buf);
		return;
	}
	is_str(err.buf, "", "without messages");
	is_str(t.name, "demo", "name");
	is_str(t.path, "t.json", "path");
	is_int((long long)t.nservices, 4, "four services");
	is_str(t.services[0].name, "db", "in file order: db");
	is_str(t.services[1].name, "api", "api");
	is_str(t.services[2].name, "cron", "cron");
	is_str(t.services[3].name, "disk", "disk");
	is_int(topo_service_index(&t, "cron"), 2, "topo_service_index");
	is_int(topo_service_index(&t, "nope"), -1, "topo_service_index of an unknown name");

	/* tcp */
	const struct topo_service *db = &t.services[0];
	is_str(db->pointer, "/services/db", "service pointer");
	is_int(db->quorum, 1, "db: quorum defaults to all (1)");
	ok(db->quorum_all, "db: quorum follows the instances");
	is_int(db->rise, 2, "db: rise default");
	is_int(db->fall, 3, "db: fall default");
	is_int((long long)db->ndeps, 0, "db: no dependencies");
	const struct topo_instance *in = &db->instances[0];
	is_str(in->id, "db-1", "db-1 id");
	is_str(in->host, "10.0.0.5", "db-1 host");
	is_int(in->port, 5432, "db-1 port");
	is_str(in->pointer, "/services/db/instances/0", "db-1 pointer");
	is_int((long long)in->service, 0, "db-1 service index");
	is_int(in->check.kind, CHECK_TCP, "db-1 tcp");
	is_str(in->check.host, "10.0.0.5", "tcp host");
	is_int(in->check.port, 5432, "tcp port");
	is_str(in->check.send, "PING\r\n", "tcp send with escapes decoded");
	is_str(in->check.expect, "^\\+PONG", "tcp expect");
	ok(in->check.expect_re_ready, "expect compiled");
	is_int(in->check.timeout_ms, 500, "a timeout in seconds as a number");
	ok(in->check.url == NULL, "tcp: no url");

	/* http, with the instance layers */
	const struct topo_service *api = &t.services[1];
	is_int((long long)api->ndeps, 1, "api: one dependency");
	is_str(api->depends_on[0], "db", "api depends on db");
	is_int(api->quorum, 1, "api: quorum given");
	ok(!api->quorum_all, "api: quorum fixed");
	is_int(api->rise, 4, "api: rise");
	is_int(api->fall, 5, "api: fall");
	is_int((long long)api->ninstances, 3, "api: three instances");
	ok(api->check_def && cJSON_IsObject(api->check_def), "api: the check definition is kept");
	const struct check_spec *c = &api->instances[0].check;
	is_int(c->kind, CHECK_HTTP, "api-1 http");
	is_str(c->url, "https://127.0.0.1:8080/healthz", "api-1 url built from scheme, host, port, path");
	is_str(c->method, "POST", "method");
	is_list(c->headers, "Accept: application/json|X-Token: a b", "headers in order");
	is_str(c->body, "{}", "body");
	is_int((long long)c->nstatus_ok, 3, "three status entries");
	if (c->nstatus_ok == 3) {
		is_int(c->status_ok[0].lo, 200, "status 200 lo");
		is_int(c->status_ok[0].hi, 200, "status 200 hi");
		is_int(c->status_ok[1].lo, 201, "range lo");
		is_int(c->status_ok[1].hi, 204, "range hi");
		is_int(c->status_ok[2].lo, 300, "class lo");
		is_int(c->status_ok[2].hi, 399, "class hi");
	}
	is_str(c->body_contains, "ok", "body_contains");
	is_str(c->body_regex, "^\\{", "body_regex");
	ok(c->body_re_ready, "body_regex compiled");
	is_str(c->json_pointer, "/status", "json pointer");
	is_int(c->json_op, CHECK_JSON_EQUALS, "json op");
	is_str(c->json_value, "up", "json value");
	ok(c->tls_insecure, "tls_insecure");
	is_int(c->timeout_ms, 1500, "timeout");
	is_int(c->warn_ms, 250, "warn");
	is_int(c->crit_ms, 2000, "crit as a number of seconds");
	is_int(c->retries, 2, "retries");
	is_str(c->host, "127.0.0.1", "http host filled in");
	is_int(c->port, 8080, "http port filled in");

	in = &api->instances[1];
	c = &in->check;
	is_str(c->url, "https://user@api.example:8443/ready?x=1", "api-2: its own url");
	is_str(in->host, "api.example", "api-2: host from the url");
	is_int(in->port, 8443, "api-2: port from the url");
	is_int(c->timeout_ms, 3000, "api-2: timeout overridden");
	is_int((long long)c->nstatus_ok, 1, "api-2: status overridden");
	is_int(c->status_ok[0].lo, 204, "api-2: status 204");
	is_str(c->method, "POST", "api-2: method inherited");
	is_int(c->warn_ms, 250, "api-2: warn inherited");

	in = &api->instances[2];
	c = &in->check;
	is_int(c->kind, CHECK_TCP, "api-3: kind overridden to tcp");
	is_int(c->timeout_ms, 1500, "api-3: common keys still merge");
	is_int(c->retries, 2, "api-3: retries merge");
	ok(c->url == NULL && c->method == NULL && c->headers == NULL && c->body_regex == NULL,
	   "api-3: the http keys do not");
	is_str(c->host, "::1", "api-3: IPv6 host");

	/* hooks and recovery */
	const struct topo_recovery *rc = &api->recovery;
	is_list(rc->start, "svc|start|{instance}", "start argv kept as a template");
	ok(rc->start_shell == NULL, "start: no shell");
	is_str(rc->stop_shell, "kill $(cat {instance}.pid)", "stop as a shell string");
	ok(rc->stop == NULL, "stop: no argv");
	is_list(rc->restart, "svc|restart|{service}|{port}", "restart argv");
	ok(rc->restart_shell == NULL, "restart: no shell");
	is_int(rc->timeout_ms, 10000, "recovery timeout");
	is_int(rc->backoff_ms, 500, "backoff");
	is_int(rc->backoff_max_ms, 30000, "backoff_max");
	is_int(rc->budget, 3, "budget");
	is_int(rc->budget_window_ms, 300000, "window");
	is_int(rc->grace_ms, 0, "grace 0");
	is_int(rc->reset_ms, 120000, "reset");

	/* heartbeat */
	const struct topo_service *cron = &t.services[2];
	c = &cron->instances[0].check;
	is_int(c->kind, CHECK_HEARTBEAT, "heartbeat");
	is_str(c->file, "/var/run/cron-nightly.beat", "file with placeholders filled in");
	ok(c->file_jsonl, "format jsonl");
	is_int(c->ttl_ms, 86400000, "ttl 1d");
	is_str(cron->instances[0].host, "", "no host: empty");
	is_int(cron->instances[0].port, 0, "no port: 0");
	is_int(cron->recovery.backoff_ms, 120000, "a backoff above the default cap");
	is_int(cron->recovery.backoff_max_ms, 120000, "raises the cap with it");
	ok(cron->recovery.restart == NULL && cron->recovery.restart_shell == NULL, "no hooks");

	/* exec */
	const struct topo_service *disk = &t.services[3];
	c = &disk->instances[0].check;
	is_int(c->kind, CHECK_EXEC, "exec");
	is_list(c->argv, "check_disk|-H|db.local:22|{service}|id=disk-1 of disk",
		"argv placeholders filled in at load time");
	ok(c->shell == NULL, "argv form: no shell");
	is_list(c->env, "OFS_SERVICE=disk|OFS_INSTANCE=disk-1|OFS_HOST=db.local|OFS_PORT=22",
		"argv form: OFS_* environment");
	is_int(c->timeout_ms, 4000, "exec timeout from the service");
	c = &disk->instances[1].check;
	ok(c->argv == NULL, "shell form: no argv");
	is_str(c->shell, "check_disk -w 10%", "shell string kept as it is");
	is_list(c->env, "OFS_SERVICE=disk|OFS_INSTANCE=disk-2|LANG=C",
		"shell form: OFS_* then the check's env");
	is_int(c->timeout_ms, 9000, "exec timeout overridden");

	/* the graph */
	ok(t.deps && t.deps->nnodes == 4, "four graph nodes");
	if (t.deps && t.deps->nnodes == 4) {
		is_str(t.deps->nodes[1].name, "api", "node i is service i");
		ok(graph_find_edge(t.deps, 1, 0) != NULL, "edge api -> db");
		ok(graph_find_edge(t.deps, 3, 0) && graph_find_edge(t.deps, 3, 2), "edges disk -> db, cron");
		is_int((long long)t.deps->nedges, 3, "three edges");
	}

	/* lookups */
	struct topo_instance *found = topo_find_instance(&t, "api-2");
	ok(found == &t.services[1].instances[1], "topo_find_instance");
	ok(topo_find_instance(&t, "api-9") == NULL, "topo_find_instance of an unknown id");
	struct proc_var vars[TOPO_NVARS];
	char portbuf[TOPO_PORTBUF];
	is_int((long long)topo_instance_vars(&t, found, vars, portbuf), TOPO_NVARS, "four vars");
	is_str(vars[0].name, "service", "var 0 name");
	is_str(vars[0].value, "api", "var 0 value");
	is_str(vars[1].value, "api-2", "var 1 value");
	is_str(vars[2].value, "api.example", "var 2 value");
	is_str(vars[3].name, "port", "var 3 name");
	is_str(vars[3].value, "8443", "var 3 value");
	topo_instance_vars(&t, &t.services[2].instances[0], vars, portbuf);
	is_str(vars[3].value, "", "no port: empty text");

	is_int(topo_finish(&t, &err), 0, "topo_finish on a loaded topology");
	is_str(err.buf, "", "says nothing");
	topo_free(&t);
	topo_free(&t);
	ok(t.services == NULL && t.nservices == 0, "topo_free twice is harmless");
	sb_release(&err);
}

/* Keys required of a kind may come from each instance instead. */
static void test_per_instance(void)
{
	const char *text =
		"{'services':{'beat':{'instances':[{'id':'b1','check':{'file':'/run/{instance}'}},"
		"{'id':'b2','check':{'file':'/run/other','ttl':'5s'}}],"
		"'check':{'kind':'heartbeat','ttl':'1m'}},"
		"'job':{'instances':[{'id':'j1','check':{'command':['a','{instance}']}},"
		"{'id':'j2','check':{'command':'b'}}],'check':{'kind':'exec'}},"
		"'lazy':{'check':{'kind':'exec'}}}}";
	struct topology t;
	struct strbuf err = SB_INIT;
	if (!is_int(parse_text(text, &t, &err), 0, "file, ttl and command given per instance")) {
		diag("%s", err.buf);
		sb_release(&err);
		return;
	}
	is_str(t.services[0].instances[0].check.file, "/run/b1", "b1 file");
	is_int(t.services[0].instances[0].check.ttl_ms, 60000, "b1 ttl from the service");
	is_str(t.services[0].instances[1].check.file, "/run/other", "b2 file");
	is_int(t.services[0].instances[1].check.ttl_ms, 5000, "b2 ttl of its own");
	is_list(t.services[1].instances[0].check.argv, "a|j1", "j1 argv");
	is_str(t.services[1].instances[1].check.shell, "b", "j2 shell");
	is_int(add_text(&t, "{'service':'lazy','id':'l1'}", &err), -1,
	       "a target of an exec service without a command");
	is_str(err.buf, "/services/lazy/check: missing required key 'command' for an exec check",
	       "is told where the kind came from");
	is_int(add_text(&t, "{'service':'lazy','id':'l1','check':{'command':['x']}}", &err), 0,
	       "and may bring its own");
	topo_free(&t);

	/* One instance lacking it is an error at the kind's definition. */
	text = "{'services':{'beat':{'instances':[{'id':'b1','check':{'file':'/x'}},{'id':'b2'}],"
	       "'check':{'kind':'heartbeat','ttl':'1m'}}}}";
	sb_reset(&err);
	is_int(parse_text(text, &t, &err), -1, "one instance without a file");
	is_str(err.buf, "t.json: /services/beat/check: missing required key 'file' for a heartbeat "
			"check\n",
	       "reported once");
	sb_release(&err);
}

static void test_json_values(void)
{
	static const struct {
		const char *cond;
		int op;
		const char *value;
	} cases[] = {
		{ "'equals':'up'", CHECK_JSON_EQUALS, "up" },
		{ "'not_equals':5", CHECK_JSON_NOT_EQUALS, "5" },
		{ "'equals':true", CHECK_JSON_EQUALS, "true" },
		{ "'equals':null", CHECK_JSON_EQUALS, "null" },
		{ "'lt':0.25", CHECK_JSON_LT, "0.25" },
		{ "'le':1e3", CHECK_JSON_LE, "1000" },
		{ "'gt':-2", CHECK_JSON_GT, "-2" },
		{ "'ge':0.1", CHECK_JSON_GE, "0.1" },
		{ "'exists':true", CHECK_JSON_EXISTS, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *text = xasprintf("{'services':{'a':{'instances':[{'url':'http://h/'}],"
				       "'check':{'json':{'pointer':'/a~1b',%s}}}}}",
				       cases[i].cond);
		struct topology t;
		struct strbuf err = SB_INIT;
		if (is_int(parse_text(text, &t, &err), 0, cases[i].cond)) {
			const struct check_spec *c = &t.services[0].instances[0].check;
			is_int(c->json_op, cases[i].op, "op");
			is_str(c->json_pointer, "/a~1b", "pointer kept as written");
			if (cases[i].value)
				is_str(c->json_value, cases[i].value, "value as text");
			else
				ok(c->json_value == NULL, "exists: no value");
			topo_free(&t);
		} else {
			diag("%s", err.buf);
		}
		sb_release(&err);
		free(text);
	}
}

static void test_defaults(void)
{
	struct topology t;
	struct strbuf err = SB_INIT;
	const char *text = "{'services':{'a':{'instances':[{'host':'h','port':80},{'host':'::1',"
			   "'port':81},{'url':'http://x'}]},'empty':{}}}";
	if (!is_int(parse_text(text, &t, &err), 0, "a minimal topology loads")) {
		diag("%s", err.buf);
		return;
	}
	is_str(t.name, "", "no name: empty");
	const struct topo_service *a = &t.services[0];
	is_str(a->instances[0].id, "h:80", "id from host:port");
	is_str(a->instances[1].id, "[::1]:81", "id from an IPv6 host and port");
	is_str(a->instances[2].id, "http://x", "id from the url");
	is_str(a->instances[2].host, "x", "host from the url");
	is_int(a->instances[2].port, 80, "http port by default");
	const struct check_spec *c = &a->instances[0].check;
	is_int(c->kind, CHECK_HTTP, "no check: http");
	is_str(c->url, "http://h:80/health", "default scheme and path");
	is_str(a->instances[1].check.url, "http://[::1]:81/health", "IPv6 bracketed in the url");
	ok(c->method == NULL && c->status_ok == NULL && c->headers == NULL, "http defaults left to the engine");
	is_int(c->timeout_ms, 2000, "the engine's default timeout");
	is_int(c->warn_ms, 0, "no warn");
	is_int(c->crit_ms, 0, "no crit");
	is_int(c->retries, 0, "no retries");
	is_int(a->quorum, 3, "quorum: all instances");
	is_int(a->rise, 2, "rise 2");
	is_int(a->fall, 3, "fall 3");
	const struct topo_recovery *r = &a->recovery;
	is_int(r->timeout_ms, 30000, "hook timeout 30 s");
	is_int(r->backoff_ms, 1000, "backoff 1 s");
	is_int(r->backoff_max_ms, 60000, "backoff_max 60 s");
	is_int(r->budget, 5, "budget 5");
	is_int(r->budget_window_ms, 600000, "window 10 min");
	is_int(r->grace_ms, 5000, "grace 5 s");
	is_int(r->reset_ms, 60000, "reset 60 s");
	ok(!r->start && !r->stop && !r->restart && !r->start_shell && !r->stop_shell &&
		   !r->restart_shell,
	   "no hooks");
	const struct topo_service *e = &t.services[1];
	is_int((long long)e->ninstances, 0, "a service may have no instances");
	is_int(e->quorum, 0, "and then a quorum of 0");
	ok(e->check_def == NULL, "no check definition");
	topo_free(&t);
	sb_release(&err);
}

/* URLs an instance may give, and the host and port taken from them. */
static void test_urls(void)
{
	static const struct {
		const char *url, *host;
		int port;
		const char *error; /* for a bad one */
	} cases[] = {
		{ "http://h", "h", 80, NULL },
		{ "HTTPS://Host.Example:8443/x", "Host.Example", 8443, NULL },
		{ "http://user:pw@h:81/p@q", "h", 81, NULL },
		{ "http://h?x=1", "h", 80, NULL },
		{ "https://h#frag", "h", 443, NULL },
		{ "http://[::1]/", "::1", 80, NULL },
		{ "http://[fe80::1%25eth0]:8080/", "fe80::1%25eth0", 8080, NULL },
		{ "http://10.0.0.1:65535", "10.0.0.1", 65535, NULL },
		{ "http://[zz]/", NULL, 0, "URL 'http://[zz]/' has an invalid host" },
		{ "http://[::1]x/", NULL, 0, "URL 'http://[::1]x/' has an invalid host" },
		{ "http://h^/", NULL, 0, "URL 'http://h^/' has an invalid host" },
		{ "http://h:8a/", NULL, 0, "URL 'http://h:8a/' has an invalid port (must be 1..65535)" },
		{ "http://h:0", NULL, 0, "URL 'http://h:0' has an invalid port (must be 1..65535)" },
		{ "http://h:123456", NULL, 0,
		  "URL 'http://h:123456' has an invalid port (must be 1..65535)" },
		{ "http://", NULL, 0, "URL 'http://' has no host" },
		{ "http:/h", NULL, 0, "must be an http:// or https:// URL, got 'http:/h'" },
		{ "http://h/\\tx", NULL, 0,
		  "must not contain spaces or control characters, got 'http://h/\\tx'" },
		{ "http://very-long-host-name.example.com:8080/and/a/long/path", NULL, 0, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *text = xasprintf("{'services':{'a':{'instances':[{'url':'%s'}]}}}", cases[i].url);
		struct topology t;
		struct strbuf err = SB_INIT;
		int r = parse_text(text, &t, &err);
		if (cases[i].host) {
			if (is_int(r, 0, cases[i].url)) {
				const struct topo_instance *in = &t.services[0].instances[0];
				is_str(in->host, cases[i].host, "host from the url");
				is_int(in->port, cases[i].port, "port from the url");
				is_str(in->check.url, cases[i].url, "the url is used as given");
				topo_free(&t);
			} else {
				diag("%s", err.buf);
			}
		} else if (cases[i].error) {
			char *want = xasprintf("t.json: /services/a/instances/0/url: %s\n", cases[i].error);
			is_int(r, -1, cases[i].url);
			is_str(err.buf, want, "the reason");
			free(want);
		} else {
			is_int(r, 0, "a long URL is fine");
			topo_free(&t);
		}
		sb_release(&err);
		free(text);
	}
	/* A long URL is quoted cut short in messages. */
	struct topology t;
	struct strbuf err = SB_INIT;
	parse_text("{'services':{'a':{'instances':[{'url':'ftp://a-rather-long-host-name.example.com/"
		   "with/a/path'}]}}}",
		   &t, &err);
	is_str(err.buf,
	       "t.json: /services/a/instances/0/url: must be an http:// or https:// URL, got "
	       "'ftp://a-rather-long-host-name.example.co...'\n",
	       "long values are cut in messages");
	sb_release(&err);
}

/* The example shop's file, as shopd and ofs-health read it. */
static void test_shop(void)
{
	const char *top = getenv("OFS_TOP");
	char *path = xasprintf("%s/examples/shop/topology.json", top ? top : ".");
	struct topology t;
	struct strbuf err = SB_INIT;
	if (!is_int(topo_load(path, &t, &err), 0, "the shop's topology loads")) {
		diag("%s", err.buf);
		free(path);
		sb_release(&err);
		return;
	}
	is_str(t.name, "shop", "name shop");
	is_str(t.path, path, "path");
	static const char *const names[] = { "gateway", "orders", "payments", "inventory", "shipping" };
	static const int ninst[] = { 2, 2, 2, 2, 1 };
	is_int((long long)t.nservices, 5, "five services");
	for (size_t i = 0; i < ARRAY_SIZE(names) && i < t.nservices; i++) {
		is_str(t.services[i].name, names[i], "service order");
		is_int((long long)t.services[i].ninstances, ninst[i], "instances");
		is_int(t.services[i].quorum, ninst[i], "quorum: all");
	}
	const struct topo_service *orders = &t.services[1];
	is_int((long long)orders->ndeps, 3, "orders has three dependencies");
	is_str(orders->depends_on[1], "payments", "orders depends on payments");
	const struct topo_instance *o2 = &orders->instances[1];
	is_str(o2->id, "orders-2", "orders-2");
	is_str(o2->check.url, "http://127.0.0.1:18083/health", "its url");
	is_int(o2->check.timeout_ms, 1000, "its timeout");
	is_list(orders->recovery.restart, "{shopd}|restart|--dir|{dir}|{instance}",
		"restart hook with unknown placeholders kept");
	is_list(orders->recovery.start, "{shopd}|start|--dir|{dir}|{instance}", "start hook");
	is_list(orders->recovery.stop, "{shopd}|stop|--dir|{dir}|{instance}", "stop hook");
	size_t order[5];
	ok(graph_reverse_topo(t.deps, order, NULL) == 0, "the graph has no cycle");
	is_str(t.deps->nodes[order[0]].name, "payments", "payments comes first in start order");
	is_str(t.deps->nodes[order[4]].name, "gateway", "gateway last");
	topo_free(&t);
	free(path);
	sb_release(&err);
}

/* ---- targets ---------------------------------------------------------- */

static void test_targets(void)
{
	struct topology t;
	struct strbuf err = SB_INIT;
	topo_init(&t);
	is_str(t.path, "", "topo_init: no path");
	is_int((long long)t.nservices, 0, "topo_init: no services");

	is_int(add_text(&t, "{'type':'discovery.target','ts':'x','service':'orders','id':'orders-3',"
			    "'url':'http://10.0.0.7:8080/health'}", &err),
	       0, "a url target");
	is_int(add_text(&t, "{'service':'db','host':'127.0.0.1','port':5432,'check':{'kind':'tcp'}}",
			&err),
	       0, "a tcp target without an id");
	is_int(add_text(&t, "{'service':'orders','url':'https://[::1]/h'}", &err), 0,
	       "a second orders target");
	is_int(add_text(&t, "{'service':'job','id':'j1','check':{'kind':'exec','command':['run','{instance}']}}",
			&err),
	       0, "an exec target");
	is_str(err.buf, "", "no messages");
	is_int((long long)t.nservices, 3, "services created: orders, db, job");
	const struct topo_service *orders = &t.services[0];
	is_str(orders->name, "orders", "orders first");
	is_str(orders->pointer, "", "a target's service has no pointer");
	is_int((long long)orders->ninstances, 2, "same service, shared");
	is_int(orders->quorum, 2, "quorum follows the instances");
	is_str(orders->instances[0].id, "orders-3", "id given");
	is_str(orders->instances[0].host, "10.0.0.7", "host from url");
	is_int(orders->instances[0].port, 8080, "port from url");
	is_str(orders->instances[0].check.url, "http://10.0.0.7:8080/health", "url kept");
	is_str(orders->instances[0].pointer, "", "a target's instance has no pointer");
	is_str(orders->instances[1].id, "https://[::1]/h", "id from the url");
	is_str(orders->instances[1].host, "::1", "IPv6 host from the url");
	is_int(orders->instances[1].port, 443, "https port by default");
	const struct topo_instance *db = &t.services[1].instances[0];
	is_str(db->id, "127.0.0.1:5432", "id from host:port");
	is_int(db->check.kind, CHECK_TCP, "tcp");
	is_str(db->check.host, "127.0.0.1", "tcp host");
	is_int(db->check.port, 5432, "tcp port");
	is_list(t.services[2].instances[0].check.argv, "run|j1", "exec placeholders filled in");
	ok(t.deps && t.deps->nnodes == 3, "graph nodes for the new services");

	/* Failures: one line, nothing added. */
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "{'id':'x','url':'http://h/'}", "missing required key 'service'" },
		{ "{'service':'','url':'http://h/'}", "/service: must not be empty" },
		{ "{'service':'db','host':'h','port':0,'check':{'kind':'tcp'}}",
		  "/port: must be 1..65535, got 0" },
		{ "{'service':'db','hots':'h','prot':1,'check':{'kind':'tcp'}}",
		  "/hots: unknown key 'hots'; did you mean 'host'?; /prot: unknown key 'prot'; did you "
		  "mean 'port'?; missing required key 'id' (or \"url\", or \"host\" and \"port\", to "
		  "derive it from); missing required key 'host' for a tcp check; missing required "
		  "key 'port' for a tcp check" },
		{ "{'service':'orders','id':'orders-3','url':'http://h/'}",
		  "/id: duplicate instance id 'orders-3', also given by an earlier target" },
		{ "{'service':'x','url':'http://10.0.0.7:8080/health','id':'o'}", NULL },
		{ "{'service':'x','url':'ftp://h'}",
		  "/url: must be an http:// or https:// URL, got 'ftp://h'" },
		{ "{'service':'x','id':'y','check':{'kind':'exec'}}",
		  "/check: missing required key 'command' for an exec check" },
		{ "{'service':'x','id':'y'}", "an http check needs \"url\", or \"host\" and \"port\"" },
		{ "{'service':'x','id':'y','check':[]}",
		  "/check: must be an object, got array; an http check needs \"url\", or \"host\" and "
		  "\"port\"" },
		{ "[1]", "a target must be an object, got array" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		size_t before = t.nservices;
		int r = add_text(&t, bad[i].text, &err);
		if (!bad[i].want) {
			is_int(r, 0, "a url already in use under another id is fine");
			continue;
		}
		is_int(r, -1, bad[i].text);
		is_str(err.buf, bad[i].want, "its reason");
		is_int((long long)t.nservices, (long long)before, "nothing added");
	}
	is_int((long long)t.nservices, 4, "only the good target's service was created");
	is_int(topo_finish(&t, &err), 0, "topo_finish");
	ok(t.deps->nnodes == 4, "the graph has every service");
	topo_free(&t);

	/* Onto a topology: the service's check is the base. */
	const char *text = "{'services':{'orders':{'instances':[{'id':'orders-1','host':'h','port':1}],"
			   "'check':{'path':'/ready','timeout':'1s'}},"
			   "'db':{'instances':[{'id':'db-1','host':'h','port':2}],"
			   "'check':{'kind':'tcp','expect':'^OK'},'quorum':1}}}";
	sb_reset(&err);
	if (!is_int(parse_text(text, &t, &err), 0, "a topology for targets")) {
		diag("%s", err.buf);
		sb_release(&err);
		return;
	}
	is_int(add_text(&t, "{'service':'orders','host':'10.1.1.1','port':9000}", &err), 0,
	       "a target of a known service");
	const struct topo_instance *o = &t.services[0].instances[1];
	is_str(o->check.url, "http://10.1.1.1:9000/ready", "the service's path");
	is_int(o->check.timeout_ms, 1000, "the service's timeout");
	is_int(t.services[0].quorum, 2, "quorum all: now 2");
	is_int(add_text(&t, "{'service':'orders','host':'10.1.1.2','port':9000,'check':{'timeout':'5s'}}",
			&err),
	       0, "a target with its own check");
	o = &t.services[0].instances[2];
	is_int(o->check.timeout_ms, 5000, "laid over the service's");
	is_str(o->check.url, "http://10.1.1.2:9000/ready", "path still the service's");
	is_int(add_text(&t, "{'service':'db','host':'10.1.1.3','port':5432}", &err), 0, "a db target");
	const struct topo_instance *d = &t.services[1].instances[1];
	is_int(d->check.kind, CHECK_TCP, "kind from the service");
	is_str(d->check.expect, "^OK", "expect from the service");
	ok(d->check.expect_re_ready, "compiled");
	is_int(t.services[1].quorum, 1, "a given quorum stays");
	is_int(add_text(&t, "{'service':'db','id':'orders-1','host':'h','port':3}", &err), -1,
	       "an id of the file");
	is_str(err.buf, "/id: duplicate instance id 'orders-1', also in t.json at "
			"/services/orders/instances/0",
	       "names where it is");
	is_int(add_text(&t, "{'service':'db','host':'h','port':4,'check':{'expect':'('}}", &err), -1,
	       "a bad regex in a target");
	ok(!strncmp(err.buf, "/check/expect: ", 15), "pointer relative to the record: %s", err.buf);
	is_int(topo_finish(&t, &err), 0, "topo_finish");

	/* A caller that edits depends_on gets the cycle named by topo_finish. */
	struct topo_service *svc = &t.services[1];
	free(svc->depends_on);
	svc->depends_on = xcalloc(2, sizeof(char *));
	svc->depends_on[0] = xstrdup("db");
	svc->ndeps = 1;
	sb_reset(&err);
	is_int(topo_finish(&t, &err), -1, "topo_finish finds a cycle");
	is_str(err.buf, "t.json: /services/db/depends_on: dependency cycle: db -> db\n", "named");
	free(svc->depends_on[0]);
	svc->depends_on[0] = xstrdup("nowhere");
	sb_reset(&err);
	is_int(topo_finish(&t, &err), -1, "topo_finish finds an unknown service");
	is_str(err.buf, "t.json: /services/db/depends_on: unknown service 'nowhere'\n", "named");
	topo_free(&t);
	sb_release(&err);
}

/* ---- files ------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		diag("cannot write '%s'", path);
	if (fd >= 0)
		close(fd);
}

static void test_files(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = xasprintf("%s/test_topology.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		free(dir);
		return;
	}
	char *good = xasprintf("%s/good.json", dir), *bad = xasprintf("%s/bad.json", dir);
	char *syntax = xasprintf("%s/syntax.json", dir), *missing = xasprintf("%s/none.json", dir);
	write_file(good, "{\"services\": {\"a\": {\"instances\": [{\"url\": \"http://h/\"}]}}}\n");
	write_file(bad, "{\"services\": {\"a\": {\"rise\": 0}}}\n");
	write_file(syntax, "{\n  \"services\": {,}\n}\n");

	struct topology t;
	struct strbuf err = SB_INIT, want = SB_INIT;
	is_int(topo_load(good, &t, &err), 0, "topo_load of a good file");
	is_str(t.path, good, "named after its path");
	is_str(t.services[0].instances[0].id, "http://h/", "and loaded");
	topo_free(&t);

	is_int(topo_load(bad, &t, &err), -1, "topo_load of an invalid file");
	sb_addf(&want, "%s: /services/a/rise: must be 1..1000, got 0\n", bad);
	is_str(err.buf, want.buf, "the file and pointer");
	ok(t.services == NULL && t.deps == NULL, "nothing kept");
	topo_free(&t);

	sb_reset(&err);
	sb_reset(&want);
	is_int(topo_load(syntax, &t, &err), -1, "topo_load of bad JSON");
	sb_addf(&want, "%s:2:16: invalid JSON: unexpected character ',', expected a string key\n",
		syntax);
	is_str(err.buf, want.buf, "line and column, one line");

	sb_reset(&err);
	sb_reset(&want);
	is_int(topo_load(missing, &t, &err), -1, "topo_load of a missing file");
	sb_addf(&want, "cannot open '%s': No such file or directory\n", missing);
	is_str(err.buf, want.buf, "says so");

	/* "-" is standard input, named <stdin>. */
	sb_reset(&err);
	int saved = dup(STDIN_FILENO);
	int fd = open(bad, O_RDONLY | O_CLOEXEC);
	if (saved >= 0 && fd >= 0 && dup2(fd, STDIN_FILENO) >= 0) {
		is_int(topo_load("-", &t, &err), -1, "topo_load of stdin");
		is_str(err.buf, "<stdin>: /services/a/rise: must be 1..1000, got 0\n", "named <stdin>");
		dup2(saved, STDIN_FILENO);
	} else {
		ok(0, "redirect stdin");
	}
	if (fd >= 0)
		close(fd);
	if (saved >= 0)
		close(saved);

	unlink(good);
	unlink(bad);
	unlink(syntax);
	ok(rmdir(dir) == 0, "temp dir removed");
	free(good);
	free(bad);
	free(syntax);
	free(missing);
	free(dir);
	sb_release(&err);
	sb_release(&want);
}

int main(void)
{
	test_bad();
	test_bad_regex();
	test_full();
	test_per_instance();
	test_json_values();
	test_urls();
	test_defaults();
	test_shop();
	test_targets();
	test_files();
	return tap_done();
}
