-- dbmate dump: not a migration (dbmate skips files not starting with digits)
CREATE SCHEMA app;
