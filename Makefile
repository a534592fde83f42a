# The README's two commands, and what a user or contributor runs next. Each target first installs
# what it needs and the machine lacks (scripts/deps.sh: Debian packages through apt-get, Python
# packages into /opt/crc-venv), so they work on a fresh machine with Swift.
#
#   make up        build (debug) and bring topologies/tree.yaml up; Ctrl-C stops it
#   make test      every test, as CI runs them
#   make demo      the same network from a release build: for a class, starts and runs faster
#   make install   release executables (Swift runtime linked statically), shell completions and
#                  man pages under PREFIX (default /usr/local)
#
# TOPOLOGY=FILE picks another network for up and demo; PREFIX and DESTDIR place an install.

SWIFT    ?= swift
TOPOLOGY ?= topologies/tree.yaml
PREFIX   ?= /usr/local
DESTDIR  ?=
# The build configuration man pages are generated from (the plugin builds every product in it).
MAN_CONFIG ?= release

TOOLS  = crc-server crc-client crc-cluster crc-bench
BINDIR = $(DESTDIR)$(PREFIX)/bin
MANDIR = $(DESTDIR)$(PREFIX)/share/man/man1
BASHDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR  = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

.PHONY: up demo test build release install uninstall man completions embed deps deps-test help

help:
	@sed -n '1,12p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# A first build compiles SwiftNIO and the tools: say so, since `swift run` is silent about it.
build: deps
	@[ -x .build/debug/crc-cluster ] || echo "make: first build (debug): SwiftNIO and the tools compile in about 2-4 minutes on 2 cores; later builds take seconds."
	$(SWIFT) build

up: build
	$(SWIFT) run --skip-build crc-cluster up $(TOPOLOGY)

release: deps
	@[ -x .build/release/crc-cluster ] || echo "make: first release build: about 5-8 minutes on 2 cores; later builds take seconds."
	$(SWIFT) build -c release --static-swift-stdlib

demo: release
	.build/release/crc-cluster up $(TOPOLOGY)

test: deps-test
	$(SWIFT) test --disable-swift-testing

# Man pages from swift-argument-parser's manual plugin, one per executable and subcommand.
MAN_OUT = .build/plugins/GenerateManual/outputs
man: deps
	$(SWIFT) package plugin generate-manual --configuration $(MAN_CONFIG) --multi-page
	@ls $(MAN_OUT)/*/*.1 >/dev/null && echo "make: man pages in $(MAN_OUT)/<tool>/"

completions: release
	@mkdir -p .build/completions
	@for shell in bash zsh fish; do \
	  .build/release/crc-cluster --generate-completion-script $$shell > .build/completions/crc-cluster.$$shell || exit 1; \
	  .build/release/crc-server --generate-completion-script $$shell > .build/completions/crc-server.$$shell || exit 1; \
	  .build/release/crc-client --generate-completion-script $$shell > .build/completions/crc-client.$$shell || exit 1; \
	done

install: man release completions
	install -d $(BINDIR) $(MANDIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR)
	for t in $(TOOLS); do install -m 755 .build/release/$$t $(BINDIR)/$$t; done
	install -m 644 $(MAN_OUT)/*/*.1 $(MANDIR)/
	for t in crc-cluster crc-server crc-client; do \
	  install -m 644 .build/completions/$$t.bash $(BASHDIR)/$$t; \
	  install -m 644 .build/completions/$$t.zsh $(ZSHDIR)/_$$t; \
	  install -m 644 .build/completions/$$t.fish $(FISHDIR)/$$t.fish; \
	done
	@echo "make: installed $(TOOLS) in $(BINDIR); try: crc-cluster up topologies/tree.yaml (from any folder)"

uninstall:
	for t in $(TOOLS); do rm -f $(BINDIR)/$$t; done
	rm -f $(MANDIR)/crc-*.1
	for t in crc-cluster crc-server crc-client; do rm -f $(BASHDIR)/$$t $(ZSHDIR)/_$$t $(FISHDIR)/$$t.fish; done

# After editing topologies/: the executables carry a copy (BuiltInScenarioTests checks it).
embed:
	python3 scripts/embed-topologies.py
