CREATE TABLE app.notes (id int, body text);
INSERT INTO app.notes VALUES (1, 'first\line');