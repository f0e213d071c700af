-- the schema comes from pop's options

CREATE TABLE {{ index .Options "Namespace" }}.a (id int);
