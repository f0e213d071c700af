-- 005 create published_posts: what the front page reads.
--
-- "requires" is redundant here (each migration already follows the one
-- before it) but shows the syntax: 004 must be applied first because the
-- view reads users.display_name.
SELECT migrate.register(
	version => '005',
	name => 'create published_posts view',
	up => $up$
		CREATE VIEW published_posts AS
			SELECT p.id, p.title, p.body, p.published_at,
				u.display_name AS author
			FROM posts p
			JOIN users u ON u.id = p.author_id
			WHERE p.published_at IS NOT NULL;
	$up$,
	down => $down$
		DROP VIEW published_posts;
	$down$,
	requires => '{004}');
