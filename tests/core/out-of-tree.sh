#!/bin/bash
# A plugin built outside the tree against the INSTALLED header, found with
# `pkg-config envsync-plugin`, loads into this envsync with no core rebuild.
. "$top_srcdir/tests/core/common.sh"
command -v pkg-config >/dev/null || fail "pkg-config is required"
command -v cc >/dev/null || fail "a C compiler is required"

# install only the public header and the .pc file into a scratch root
make -s -C "$top_builddir" install-envsyncincludeHEADERS install-pkgconfigDATA DESTDIR="$T/root" >/dev/null \
    || fail "installing the plugin header"
pc=$(find "$T/root" -name envsync-plugin.pc | head -1)
[ -n "$pc" ] || fail "envsync-plugin.pc not installed"
cflags=$(PKG_CONFIG_LIBDIR=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$T/root" pkg-config --cflags envsync-plugin) \
    || fail "pkg-config envsync-plugin"
case "$cflags" in *"$T/root"*) ;; *) fail "cflags do not point at the installed header: $cflags" ;; esac

mkdir -p "$T/plugins"
cp "$top_srcdir/docs/examples/rowcount.c" "$T/build.c"
( cd "$T" && cc -shared -fPIC -Wall -Werror -o plugins/rowcount.so build.c $cflags ) || fail "building the example plugin"

conf "$PROD_JOB, { name = \"verify\"; fetch = { storage = \"local\"; job = \"prod\"; };
    restore = { plugin = \"rowcount\"; report = \"$T/rows.txt\"; }; }" "plugin_dir = \"$T/plugins\";"
run_envsync -c "$T/envsync.conf" plugins
expect_out "^rowcount +1.0.0 +restore " "envsync plugins lists the out-of-tree plugin"
run_envsync -c "$T/envsync.conf" run prod verify
expect_rc 0 "backup and verify with the out-of-tree plugin"
[ "$(sort "$T/rows.txt")" = "$(printf 't0 2000\nt1 2000\nt2 2000')" ] || fail "row report: $(cat "$T/rows.txt")"
pass
