CREATE TABLE a (id int);

CREATE TABLE {{ identifier "b" }} (id int);
