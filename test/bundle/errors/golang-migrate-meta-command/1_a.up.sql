CREATE TABLE a (id int);
\i seed.sql
