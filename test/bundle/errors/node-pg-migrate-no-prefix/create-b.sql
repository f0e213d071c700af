-- Up Migration
CREATE TABLE b (id int);
