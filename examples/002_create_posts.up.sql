-- 002 create posts: what users write; a draft until published_at is set.
CREATE TABLE posts (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	author_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	title text NOT NULL CHECK (title <> ''),
	body text NOT NULL DEFAULT '',
	published_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
