-- 004 add users.display_name: a new NOT NULL column, backfilled.
--
-- The usual three steps: add the column as nullable, fill it for the rows
-- that exist, then make it NOT NULL.  Migrate runs them in one transaction,
-- so no application ever sees a half-filled column.
ALTER TABLE users ADD COLUMN display_name text;
UPDATE users SET display_name = split_part(email, '@', 1)
	WHERE display_name IS NULL;
ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
