-- flyway:executeInTransaction=false
DROP INDEX CONCURRENTLY app.users_login_lower;
