#!/usr/bin/env bats
# docs.bats: the documentation, completions and house rules stay true:
# man pages lint clean and match the programs' usage, completions are
# generated from the option tables and work, sources keep the style rules.

load helpers

@test "man pages lint clean" {
	run mandoc -Tlint -Wwarning "$OFS_TOP"/man/*.[17]
	assert_success
	assert_output ""
}

@test "ofs.7 documents every exit status and the environment" {
	run mandoc -Tascii "$OFS_TOP/man/ofs.7"
	assert_success
	local page
	page=$(printf '%s\n' "$output" | col -bx)
	for s in 0 1 2 3 4 "128[+]N"; do
		sed -n '/^EXIT STATUS/,/^EXAMPLES/p' <<<"$page" | grep -qE "^ +$s +[a-z]" ||
			fail "exit status $s not documented"
	done
	for v in OFS_STATE_DIR XDG_STATE_HOME TRACEPARENT TRACESTATE NO_COLOR; do
		grep -q "$v" <<<"$page" || fail "$v not documented"
	done
}

@test "every program has a man page whose SYNOPSIS matches its usage" {
	local n=0 b t cmd want
	for b in "$OFS_BIN"/ofs-*; do
		[ -x "$b" ] || continue
		t=${b##*/}
		n=$((n + 1))
		[ -f "$OFS_TOP/man/$t.1" ] || fail "man/$t.1 is missing"
		synopsis=$(mandoc -Tascii "$OFS_TOP/man/$t.1" | col -bx |
			awk '/^SYNOPSIS/{on=1;next} /^[A-Z]/{on=0} on' | tr -s ' \n' ' ')
		while IFS=$'\t' read -r kind cmd _; do
			[ "$kind" = cmd ] || continue
			want=$("$b" "$cmd" --help | head -1 | sed 's/^usage: //')
			[[ " $synopsis " == *" $want "* ]] ||
				fail "$t.1 SYNOPSIS lacks: $want"
		done < <("$b" --dump-options)
	done
	[ "$n" -gt 0 ] || skip "no ofs programs are built yet"
}

@test "committed completions match the option tables" {
	run bash "$OFS_TOP/completions/gen" --check
	assert_success
}

@test "generated bash completion completes commands, options and values" {
	out=$(mktemp -d)
	run bash "$OFS_TOP/completions/gen" --out "$out" "$OFS_BIN/shopd"
	assert_success
	complete_words() { # WORD... : print COMPREPLY for the last word
		bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ofs_complete; printf "%s\n" "${COMPREPLY[@]}"' _ "$out/ofs.bash" "$@"
	}
	run complete_words shopd st
	assert_output "$(printf 'start\nstop\nstatus')"
	run complete_words shopd start --fi
	assert_output "--fixed-ports"
	run complete_words shopd stop --di
	assert_output "--dir"
	rm -rf "$out"
}

@test "generated zsh completion is valid zsh" {
	out=$(mktemp -d)
	bash "$OFS_TOP/completions/gen" --out "$out" "$OFS_BIN/shopd"
	run zsh -n "$out/_ofs"
	assert_success
	grep -q "_arguments" "$out/_ofs"
	rm -rf "$out"
}

@test "sources open with a purpose paragraph and include common.h first" {
	local bad=""
	shopt -s nullglob
	for f in "$OFS_TOP"/libcommon/*.c "$OFS_TOP"/cmd/*/*.c "$OFS_TOP"/examples/shop/*.c; do
		head -1 "$f" | grep -q '^/\*' || bad="$bad $f(no opening comment)"
		first=$(grep -m1 '^#include' "$f")
		[ "$first" = '#include "common.h"' ] || bad="$bad $f(first include: $first)"
	done
	[ -z "$bad" ] || fail "style:$bad"
}

@test "no banned function appears in the sources" {
	shopt -s nullglob
	run grep -nE '\b(strcpy|strcat|strncpy|strncat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets)\s*\(' \
		"$OFS_TOP"/libcommon/*.c "$OFS_TOP"/cmd/*/*.c "$OFS_TOP"/examples/shop/*.c
	assert_failure 1
}

@test "a banned function is a compile error" {
	src=$(mktemp --suffix=.c)
	printf '#include "common.h"\nint f(char *d, const char *s);\nint f(char *d, const char *s) { strcpy(d, s); return 0; }\n' >"$src"
	run cc -std=c11 -D_GNU_SOURCE -I"$OFS_TOP/libcommon" $(pkg-config --cflags libcjson) -c -o /dev/null "$src"
	rm -f "$src"
	assert_failure
	assert_output --partial "sorry_strcpy_is_banned_in_ofs"
}

@test "README quick start names exactly the two commands and they exist" {
	grep -q '^make demo' "$OFS_TOP/README.md"
	grep -q '^make check' "$OFS_TOP/README.md"
	run make -C "$OFS_TOP" -n demo check
	assert_success
}
