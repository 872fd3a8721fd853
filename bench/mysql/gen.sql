-- bench/mysql/gen.sql: the generated application database (MariaDB flavour
-- of the benchmark's app: organisations, users, documents, editions with
-- large text bodies, an audit log with JSON, binary attachments).
-- @n sets the scale: about 2.2 KB of table data per edition.
SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';
SET foreign_key_checks = 0, unique_checks = 0;

CREATE TABLE organisations (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  slug VARCHAR(100) NOT NULL, name VARCHAR(255) NOT NULL, created_at DATETIME NOT NULL,
  UNIQUE KEY uq_slug (slug)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE users (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, organisation_id INT,
  created_at DATETIME NOT NULL, last_login DATETIME NULL, bio TEXT,
  UNIQUE KEY uq_email (email), KEY k_org (organisation_id),
  CONSTRAINT fk_users_org FOREIGN KEY (organisation_id) REFERENCES organisations (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE documents (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  slug VARCHAR(255) NOT NULL, document_type VARCHAR(50) NOT NULL, created_at DATETIME NOT NULL,
  UNIQUE KEY uq_slug (slug), KEY k_type (document_type, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE editions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  document_id BIGINT NOT NULL, title VARCHAR(255) NOT NULL, summary TEXT, body MEDIUMTEXT,
  state ENUM('draft', 'submitted', 'published', 'superseded') NOT NULL,
  author_id INT, first_published_at DATETIME(6) NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY k_doc (document_id), KEY k_state (state, updated_at), KEY k_author (author_id),
  CONSTRAINT fk_ed_doc FOREIGN KEY (document_id) REFERENCES documents (id),
  CONSTRAINT fk_ed_author FOREIGN KEY (author_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE audit_log (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id INT, action VARCHAR(32) NOT NULL, payload JSON, created_at DATETIME NOT NULL,
  KEY k_user (user_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE attachments (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  edition_id BIGINT NOT NULL, filename VARCHAR(255) NOT NULL, content_type VARCHAR(100),
  data MEDIUMBLOB,
  KEY k_edition (edition_id)
) ENGINE=InnoDB;

INSERT INTO organisations (slug, name, created_at)
  SELECT CONCAT('org-', seq), CONCAT('Organisation ', seq, ' of the realm'),
         '2010-01-01' + INTERVAL seq HOUR
  FROM seq_1_to_1000;

SET @u = GREATEST(@n DIV 10, 10);
SET @q = CONCAT('INSERT INTO users (email, name, organisation_id, created_at, last_login, bio) ',
  'SELECT CONCAT(''user'', seq, ''@example.gov.uk''), CONCAT(''User Number '', seq), 1 + seq % 1000, ',
  '''2012-01-01'' + INTERVAL seq MINUTE, IF(seq % 3 = 0, NULL, ''2024-01-01'' + INTERVAL seq SECOND), ',
  'REPEAT(CONCAT(''Bio of user '', seq, ''. ''), 1 + seq % 8) FROM seq_1_to_', @u);
PREPARE st FROM @q; EXECUTE st;

SET @d = GREATEST(@n DIV 2, 10);
SET @q = CONCAT('INSERT INTO documents (slug, document_type, created_at) ',
  'SELECT CONCAT(''/government/publications/document-'', seq, ''-'', MD5(seq)), ',
  'ELT(1 + seq % 5, ''news_article'', ''speech'', ''guidance'', ''consultation'', ''statistics''), ',
  '''2011-01-01'' + INTERVAL seq MINUTE FROM seq_1_to_', @d);
PREPARE st FROM @q; EXECUTE st;

SET @q = CONCAT('INSERT INTO editions (document_id, title, summary, body, state, author_id, first_published_at, updated_at) ',
  'SELECT 1 + seq % ', @d, ', CONCAT(''Edition '', seq, '': '', MD5(seq)), ',
  'CONCAT(''Summary of edition '', seq, '' with some words\\tand a tab''), ',
  'CONCAT(REPEAT(CONCAT(MD5(seq), '' lorem ipsum dolor sit amet, consectetur adipiscing elit. ''), 1 + seq % 30), ''\\n\\nEnd.''), ',
  'ELT(1 + seq % 4, ''draft'', ''submitted'', ''published'', ''superseded''), 1 + seq % ', @u, ', ',
  'IF(seq % 4 = 2, ''2015-01-01'' + INTERVAL seq SECOND, NULL), ''2020-01-01'' + INTERVAL seq SECOND ',
  'FROM seq_1_to_', @n);
PREPARE st FROM @q; EXECUTE st;

SET @q = CONCAT('INSERT INTO audit_log (user_id, action, payload, created_at) ',
  'SELECT 1 + seq % ', @u, ', ELT(1 + seq % 3, ''create'', ''update'', ''publish''), ',
  'JSON_OBJECT(''edition'', seq DIV 2, ''ip'', CONCAT(''10.0.'', seq % 256, ''.'', seq % 100), ''ok'', seq % 2 = 0), ',
  '''2020-01-01'' + INTERVAL seq SECOND FROM seq_1_to_', @n * 2);
PREPARE st FROM @q; EXECUTE st;

SET @q = CONCAT('INSERT INTO attachments (edition_id, filename, content_type, data) ',
  'SELECT seq * 20, CONCAT(''attachment-'', seq, ''.pdf''), ''application/pdf'', ',
  'CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024), REPEAT(MD5(seq), 64)) FROM seq_1_to_', GREATEST(@n DIV 20, 1));
PREPARE st FROM @q; EXECUTE st;

ANALYZE TABLE organisations, users, documents, editions, audit_log, attachments;
