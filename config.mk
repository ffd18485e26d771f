# config.mk: build settings for ofs. Override on the command line
# (make CC=clang PREFIX=/usr) or in config.local.mk, which is not tracked.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions

CC      ?= cc
OPT     ?= -O2 -g
WARN    ?= -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wpointer-arith \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CSTD    ?= -std=c11 -D_GNU_SOURCE
CFLAGS  ?= $(OPT)
LDFLAGS ?=

PKGS    := libcjson libcurl zlib
