#!/bin/bash
# Plugin load failures: missing, wrong ABI, not a plugin, phase missing -> exit 4.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"

plug_job() {  # plugin-name
    conf '{ name = "j"; backup = { plugin = "testdb"; dir = "/x"; database = "y"; }; restore = { plugin = "'"$1"'"; }; }'
}

plug_job doesnotexist
run_envsync -c "$C" check --offline
expect_rc 4 "missing plugin"
expect_out "envsync.conf:3: job j: restore: plugin 'doesnotexist' not found \(looked for doesnotexist.so in " "missing plugin message"

plug_job badabi
run_envsync -c "$C" check --offline
expect_rc 4 "wrong ABI"
expect_out "badabi.so was built for plugin ABI version 99, this envsync supports version 1" "ABI message names file and versions"

plug_job notplugin
run_envsync -c "$C" check --offline
expect_rc 4 "not a plugin"
expect_out "notplugin.so is not an envsync plugin \(no symbol envsync_plugin_entry\)" "not-a-plugin message"

plug_job nophase
run_envsync -c "$C" check --offline
expect_rc 4 "declared phase without callbacks"
expect_out "nophase.so declares phases it does not implement" "nophase message"

# a plugin that exists but lacks the phase the config asks of it
plug_job testxform
run_envsync -c "$C" check --offline
expect_rc 4 "phase not provided"
expect_out "plugin 'testxform' \(.*testxform.so\) does not provide the restore phase \(it provides: transform\)" "phase message"

# a random shared object that is not loadable as a plugin at all
printf 'not an elf file' > "$T/garbage.so"
ENVSYNC_PLUGIN_PATH="$T:$ENVSYNC_PLUGIN_PATH" run_envsync -c "$C" plugins
expect_rc 4 "plugins with a broken .so"
expect_out "cannot load plugin $T/garbage.so: .*\(check its libraries with \`ldd" "dlopen failure names the file"

# `envsync plugins` lists the file plugin and the test plugins with versions and phases
run_envsync plugins
expect_out "^file +[0-9][0-9.]* +store,fetch " "file plugin listed"
expect_out "^testdb +1.0.0-test +backup,restore " "testdb listed"
expect_out "^testxform +1.0.0-test +transform " "testxform listed"
run_envsync plugins --describe testdb
expect_rc 0 "describe"
expect_out "password +string +secret \(or <name>_file\)" "describe shows options"
pass
