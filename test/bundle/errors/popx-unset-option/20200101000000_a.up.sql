-- the schema comes from --set

CREATE TABLE {{ index .Options "Namespace" }}.a (id int);
