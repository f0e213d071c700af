-- Up Migration
CREATE TABLE a (id int);
-- Down Migration
DROP TABLE a;
