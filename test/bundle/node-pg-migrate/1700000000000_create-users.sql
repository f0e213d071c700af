-- Up Migration
CREATE TABLE users (
  id serial PRIMARY KEY,
  name text NOT NULL
);

-- Down Migration
DROP TABLE users;
