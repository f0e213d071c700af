-- Up Migration
CREATE TABLE a (id int);
