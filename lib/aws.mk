# lib/aws.mk: SigV4 signing and HTTP helpers shared by the s3 and elasticsearch plugins
lib_libesutil_la_SOURCES += lib/sigv4.c lib/sigv4.h lib/http.c lib/http.h
