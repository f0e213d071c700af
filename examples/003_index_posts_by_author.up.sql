-- 003 index posts by author: a user's page lists their newest posts first.
--
-- CONCURRENTLY builds the index without locking writes to posts, which is
-- what a big table needs.  It cannot run inside a transaction block, so
-- migrate registers this migration as non-transactional (migrate-bundle
-- lets the server decide) and CALL migrate.deploy() applies it.
CREATE INDEX CONCURRENTLY posts_author_published_idx
	ON posts (author_id, published_at DESC);
