/*
 * split_create.c - unit test of my_split_create() (plugins/mysql/schema.c):
 * SHOW CREATE TABLE text in, CREATE without secondary indexes and foreign
 * keys plus the ALTER clauses out.  Exit 0 pass, 1 fail.
 */
#include "../my.h"

#include <stdio.h>
#include <string.h>

static int failures;

static void
check(const char *name, const char *ddl, const char *want_create, const char *want_idx,
      const char *want_ft, const char *want_fk)
{
    es_buf c = ES_BUF_INIT, i = ES_BUF_INIT, f = ES_BUF_INIT, k = ES_BUF_INIT;
    int rc = my_split_create(ddl, &c, &i, &f, &k);

#define SAME(got, want) (!strcmp((got).data ? (got).data : "", (want)))
    if (rc != 0 || !SAME(c, want_create) || !SAME(i, want_idx) || !SAME(f, want_ft)
        || !SAME(k, want_fk)) {
        printf("FAIL %s (rc %d)\n--- create:\n%s\n--- indexes: %s\n--- fulltext: %s\n--- fks: %s\n",
               name, rc, c.data ? c.data : "", i.data ? i.data : "", f.data ? f.data : "",
               k.data ? k.data : "");
        failures++;
    }
    es_buf_free(&c);
    es_buf_free(&i);
    es_buf_free(&f);
    es_buf_free(&k);
}

int
main(void)
{
    es_buf c = ES_BUF_INIT, i = ES_BUF_INIT, f = ES_BUF_INIT, k = ES_BUF_INIT;

    check("plain",
          "CREATE TABLE `t` (\n"
          "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
          "  `v` varchar(20) DEFAULT NULL,\n"
          "  PRIMARY KEY (`id`),\n"
          "  KEY `kv` (`v`)\n"
          ") ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4",
          "CREATE TABLE `t` (\n"
          "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
          "  `v` varchar(20) DEFAULT NULL,\n"
          "  PRIMARY KEY (`id`)\n"
          ") ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4",
          "ADD KEY `kv` (`v`)", "", "");
    check("fk, unique, fulltext, check, spatial",
          "CREATE TABLE `c` (\n"
          "  `id` int(11) NOT NULL,\n"
          "  `p` int(11) DEFAULT NULL,\n"
          "  `t` text DEFAULT 'a,\\n  KEY `x` (`y`)',\n"
          "  `g` geometry NOT NULL,\n"
          "  PRIMARY KEY (`id`),\n"
          "  UNIQUE KEY `u` (`p`,`id`),\n"
          "  KEY `fk` (`p`),\n"
          "  SPATIAL KEY `sg` (`g`),\n"
          "  FULLTEXT KEY `ft1` (`t`),\n"
          "  FULLTEXT KEY `ft2` (`t`),\n"
          "  CONSTRAINT `fk` FOREIGN KEY (`p`) REFERENCES `parent` (`id`) ON DELETE CASCADE,\n"
          "  CONSTRAINT `chk` CHECK (`p` > 0)\n"
          ") ENGINE=InnoDB",
          "CREATE TABLE `c` (\n"
          "  `id` int(11) NOT NULL,\n"
          "  `p` int(11) DEFAULT NULL,\n"
          "  `t` text DEFAULT 'a,\\n  KEY `x` (`y`)',\n"
          "  `g` geometry NOT NULL,\n"
          "  PRIMARY KEY (`id`),\n"
          "  CONSTRAINT `chk` CHECK (`p` > 0)\n"
          ") ENGINE=InnoDB",
          "ADD UNIQUE KEY `u` (`p`,`id`), ADD KEY `fk` (`p`), ADD SPATIAL KEY `sg` (`g`)",
          "ADD FULLTEXT KEY `ft1` (`t`)\nADD FULLTEXT KEY `ft2` (`t`)",
          "ADD CONSTRAINT `fk` FOREIGN KEY (`p`) REFERENCES `parent` (`id`) ON DELETE CASCADE");
    check("auto_increment needs its key",
          "CREATE TABLE `a` (\n"
          "  `k` varchar(10) NOT NULL,\n"
          "  `n` bigint(20) unsigned NOT NULL AUTO_INCREMENT,\n"
          "  PRIMARY KEY (`k`),\n"
          "  KEY `other` (`k`,`n`),\n"
          "  KEY `kn` (`n`)\n"
          ") ENGINE=InnoDB",
          "CREATE TABLE `a` (\n"
          "  `k` varchar(10) NOT NULL,\n"
          "  `n` bigint(20) unsigned NOT NULL AUTO_INCREMENT,\n"
          "  PRIMARY KEY (`k`),\n"
          "  KEY `kn` (`n`)\n"
          ") ENGINE=InnoDB",
          "ADD KEY `other` (`k`,`n`)", "", "");
    check("quoted names, generated column over two lines, partitions",
          "CREATE TABLE `we``ird` (\n"
          "  `a b` int(11) NOT NULL,\n"
          "  `g` varchar(20) GENERATED ALWAYS AS (concat('x',\n'y')) VIRTUAL,\n"
          "  PRIMARY KEY (`a b`),\n"
          "  KEY `key ``q``` (`g`)\n"
          ") ENGINE=InnoDB\n PARTITION BY HASH (`a b`)\nPARTITIONS 2",
          "CREATE TABLE `we``ird` (\n"
          "  `a b` int(11) NOT NULL,\n"
          "  `g` varchar(20) GENERATED ALWAYS AS (concat('x',\n'y')) VIRTUAL,\n"
          "  PRIMARY KEY (`a b`)\n"
          ") ENGINE=InnoDB\n PARTITION BY HASH (`a b`)\nPARTITIONS 2",
          "ADD KEY `key ``q``` (`g`)", "", "");
    check("only indexes after the columns",
          "CREATE TABLE `n` (\n"
          "  `a` int(11) DEFAULT NULL,\n"
          "  KEY `ka` (`a`)\n"
          ") ENGINE=MyISAM",
          "CREATE TABLE `n` (\n"
          "  `a` int(11) DEFAULT NULL\n"
          ") ENGINE=MyISAM",
          "ADD KEY `ka` (`a`)", "", "");
    if (my_split_create("CREATE VIEW `v` AS select 1", &c, &i, &f, &k) != -1) {
        printf("FAIL: a view was accepted\n");
        failures++;
    }
    es_buf_free(&c);
    es_buf_free(&i);
    es_buf_free(&f);
    es_buf_free(&k);
    {
        static const struct { const char *in, *out; } defs[] = {
            { "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1 AS `DEFINER=`x`@`y``",
              "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1 AS `DEFINER=`x`@`y``" },
            { "CREATE DEFINER=`a``b`@`%` TRIGGER t BEFORE INSERT ON c FOR EACH ROW SET NEW.a = 1",
              "CREATE TRIGGER t BEFORE INSERT ON c FOR EACH ROW SET NEW.a = 1" },
            { "CREATE DEFINER=`role1` PROCEDURE `p`()\nselect 1", "CREATE PROCEDURE `p`()\nselect 1" },
            { "CREATE PROCEDURE `p`() select ' DEFINER=`x`@`y`'", "CREATE PROCEDURE `p`() select ' DEFINER=`x`@`y`'" },
        };
        size_t n;

        for (n = 0; n < sizeof(defs) / sizeof(defs[0]); n++) {
            char buf[512];

            snprintf(buf, sizeof(buf), "%s", defs[n].in);
            my_strip_definer(buf);
            if (strcmp(buf, defs[n].out)) {
                printf("FAIL strip_definer %zu: %s\n", n, buf);
                failures++;
            }
        }
    }
    if (failures)
        return 1;
    printf("PASS: split_create\n");
    return 0;
}
