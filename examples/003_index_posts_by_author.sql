-- 003 index posts by author: a user's page lists their newest posts first.
--
-- A plain CREATE INDEX locks writes to posts while it builds, which is fine
-- for a small table.  On a big one use CREATE INDEX CONCURRENTLY in a
-- migration registered with transactional => false.
SELECT migrate.register(
	version => '003',
	name => 'index posts by author',
	up => $up$
		CREATE INDEX posts_author_published_idx
			ON posts (author_id, published_at DESC);
	$up$,
	down => $down$
		DROP INDEX posts_author_published_idx;
	$down$);
