-- migrate:requires 004
--
-- 005 create published_posts: what the front page reads.
--
-- "requires" (the header line above) is redundant here, each migration
-- already follows the one before it, but shows the syntax: 004 must be
-- applied first because the view reads users.display_name.
CREATE VIEW published_posts AS
	SELECT p.id, p.title, p.body, p.published_at,
		u.display_name AS author
	FROM posts p
	JOIN users u ON u.id = p.author_id
	WHERE p.published_at IS NOT NULL;
