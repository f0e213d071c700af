-- migrate:up
CREATE TABLE t (id int);
