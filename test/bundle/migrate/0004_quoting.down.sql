DROP FUNCTION app.probe_fn();
DROP TABLE app.probe