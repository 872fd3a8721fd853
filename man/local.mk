# man pages
dist_man_MANS += man/envsync.1 man/envsync.conf.5
