INSERT INTO app.users (login, email) VALUES ('admin', 'admin@example.com');
