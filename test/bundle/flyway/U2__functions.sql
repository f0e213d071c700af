DROP FUNCTION app.login_of(bigint);
