DROP TABLE app.notes;
