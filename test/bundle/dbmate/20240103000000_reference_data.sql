-- Reference data only some databases need: the down has nothing to undo.
-- migrate:up
CREATE TABLE app.countries (code text PRIMARY KEY);
INSERT INTO app.countries VALUES ('FR'), ('DE');

-- migrate:down
